import { describe, expect, test } from "bun:test";
import {
  REPORT_EVERY,
  REPORT_SPACING_MS_PER_STREAM,
  ReportSchedule,
} from "../../../src/session/receiving/report-schedule.ts";

const streams = (n: number, next = 1) =>
  Array.from({ length: n }, (_, i) => ({ key: `id${i}/0`, next }));
const keys = (frames: { key: string }[][]) => frames.map((f) => f.map((e) => e.key));

describe("ReportSchedule.entries", () => {
  test("every changed stream is said, in as many frames as it takes", () => {
    const s = new ReportSchedule();
    const frames = s.entries(streams(40), 32);
    expect(frames.map((f) => f.length)).toEqual([32, 8]);
    expect(new Set(frames.flat().map((e) => e.key)).size).toBe(40);
  });

  test("the last frame is filled with unchanged streams, longest unreported first", () => {
    const s = new ReportSchedule();
    const all = streams(40);
    s.sent(all.slice(0, 20), 0);
    s.sent(all.slice(20), 10);
    const moved = all.map((e, i) => (i === 39 ? { ...e, next: 2 } : e));
    const frames = s.entries(moved, 32);
    expect(frames.length).toBe(1);
    expect(keys(frames)[0]?.slice(0, 3)).toEqual(["id39/0", "id0/0", "id1/0"]);
    expect(frames[0]?.length).toBe(32);
    s.sent(frames.flat(), 20);
    // nothing moved: no frame at all
    expect(s.entries(moved, 32)).toEqual([]);
    // next time the ones left out lead the unchanged ones
    const again = moved.map((e, i) => (i === 0 ? { ...e, next: 3 } : e));
    expect(keys(s.entries(again, 32))[0]?.slice(0, 2)).toEqual(["id0/0", "id31/0"]);
  });

  test("a sender that asked gets its streams said even if unchanged", () => {
    const s = new ReportSchedule();
    const all = streams(40);
    s.sent(all, 0);
    s.requested(100, "id39");
    expect(keys(s.entries(all, 32))[0]?.[0]).toBe("id39/0");
    s.sent(s.entries(all, 32).flat(), 100);
    expect(keys(s.entries(all, 32))[0]?.[0]).not.toBe("id39/0");
  });
});

describe("ReportSchedule modes (PROTOCOL.md §13.2)", () => {
  test("every: due at once at the start and after REPORT_EVERY, else within REPORT_DELAY_MS", () => {
    const s = new ReportSchedule();
    s.progress("a/0", 0, 100);
    expect(s.deadline).toBe(100);
    s.sent([{ key: "a/0", next: 0 }], 100);
    s.progress("a/0", 5, 110);
    expect(s.deadline).toBe(130);
    s.progress("a/0", 9, 125); // not put off
    expect(s.deadline).toBe(130);
  });

  test("named: put off while the stream moves, due when it falls quiet or after REPORT_EVERY", () => {
    const s = new ReportSchedule();
    s.sent([{ key: "a/0", next: 0 }], 0);
    s.progress("a/0", 5, 100, "named");
    expect(s.deadline).toBe(120);
    s.progress("a/0", 9, 115, "named");
    expect(s.deadline).toBe(135);
    s.progress("a/0", 600, 130, "named");
    expect(s.deadline).toBe(130);
  });

  test("asked: progress never makes a report due; a question does, and a cancel undoes it", () => {
    const s = new ReportSchedule();
    s.progress("a/0", 0, 0, "asked");
    s.progress("a/0", 900, 10, "asked");
    expect(s.deadline).toBeUndefined();
    s.question("a/0", 40);
    expect(s.deadline).toBe(40);
    expect(s.isDue("a/0")).toBe(true);
    s.cancel("a/0");
    expect(s.deadline).toBeUndefined();
    // Quiet streams are not said for having moved: only when due.
    expect(s.entries([{ key: "a/0", next: 900, quiet: true }], 32)).toEqual([]);
    s.question("a/0", 50);
    s.question("b/0", 60);
    const due = s.entries(
      [
        { key: "c/0", next: 1, quiet: true },
        { key: "b/0", next: 1, quiet: true },
        { key: "a/0", next: 900, quiet: true },
      ],
      2,
    );
    expect(due.map((f) => f.map((e) => e.key))).toEqual([["b/0", "a/0"]]);
  });

  test("a due key that has nothing to say is dropped when a report goes out", () => {
    const s = new ReportSchedule();
    s.question("gone/0", 10);
    s.sent([], 10);
    expect(s.deadline).toBeUndefined();
  });
});

describe("ReportSchedule spacing (a report reads every stream)", () => {
  test("after a report that looked at 4,096 streams, progress reports wait ~20 ms; after one of 3, they go at once", () => {
    const big = new ReportSchedule();
    big.sent([], 1000, 4096);
    big.progress("a/0", 5, 1000); // a new stream
    expect(big.deadline).toBeCloseTo(1000 + 4096 * REPORT_SPACING_MS_PER_STREAM, 6);
    big.progress("a/0", 5 + REPORT_EVERY, 1001); // a jump: still not before the spacing
    expect(big.deadline).toBeCloseTo(1000 + 4096 * REPORT_SPACING_MS_PER_STREAM, 6);
    const small = new ReportSchedule();
    small.sent([], 1000, 3);
    small.progress("a/0", 5, 1000);
    expect(small.deadline).toBeLessThanOrEqual(1000.02);
  });
});
