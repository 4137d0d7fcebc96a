import { describe, expect, test } from "bun:test";
import { ReportSchedule } from "../../../src/session/receiving/report-schedule.ts";

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
    // next time the ones left out lead the unchanged ones
    expect(keys(s.entries(moved, 32))[0]?.[0]).toBe("id31/0");
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
