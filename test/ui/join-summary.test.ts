import { describe, expect, test } from "bun:test";
import type { SessionEvent } from "../../src/session/events.ts";
import {
  FREEZE_MIN_MS,
  MAX_SETTLE_MS,
  namesList,
  PresenceSummary,
  SETTLE_SLACK_MS,
  WAKE_HEARTBEATS,
} from "../../src/ui/join-summary.ts";
import { ManualTimers } from "./quiet-timers.ts";

const HB = 500;
const id = (n: number) => n.toString(16).padStart(16, "0");
const join = (n: number): SessionEvent => ({
  type: "join",
  time: new Date(0),
  from: `198.18.0.${n}:25000`,
  nick: `m${String(n).padStart(2, "0")}`,
  id: id(n),
});
const timeout = (n: number): SessionEvent => ({
  type: "leave",
  time: new Date(0),
  from: `198.18.0.${n}:25000`,
  nick: `m${String(n).padStart(2, "0")}`,
  id: id(n),
  reason: "timeout",
});

function summary() {
  const t = new ManualTimers();
  const said: string[] = [];
  const s = new PresenceSummary({
    heartbeatMs: HB,
    now: t.clock,
    setTimer: t.setTimer,
    name: (nick) => nick,
    say: (lines) => said.push(...lines),
    sayEvent: (e) => said.push(`event ${e.type} ${"nick" in e ? e.nick : ""}`),
  });
  /** Offers `e` the way the chat does: shown at once unless held. */
  const offer = (e: SessionEvent) => {
    if (!s.hold(e)) said.push(`event ${e.type} ${"nick" in e ? e.nick : ""}`);
  };
  return { t, s, said, offer };
}

describe("namesList", () => {
  test("all names when they fit, else +N more within the width", () => {
    expect(namesList(["a", "b", "c"], 80)).toBe("a, b, c");
    const names = Array.from({ length: 18 }, (_, i) => `student${i}`);
    const line = namesList(names, 60);
    expect(Bun.stringWidth(line)).toBeLessThanOrEqual(60);
    expect(line).toMatch(/^student0, student1, .* \+\d+ more$/);
    const shown = line.split(", ").length;
    expect(line).toEndWith(`+${18 - shown} more`);
  });

  test("CJK names count two columns", () => {
    const line = namesList(["小明同学", "小红同学", "小刚同学", "小李同学"], 30);
    expect(Bun.stringWidth(line)).toBeLessThanOrEqual(30);
    expect(line).toContain("more");
  });
});

describe("PresenceSummary", () => {
  test("members heard in the first heartbeat round: one names line", () => {
    const { t, said, offer } = summary();
    for (let n = 2; n <= 10; n++) {
      t.advance(30);
      offer(join(n));
    }
    expect(said).toEqual([]);
    t.advance(HB + SETTLE_SLACK_MS);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^in the room \(9\): m02, m03, .*m10$/);
    // Afterwards a join is its own line again.
    offer(join(11));
    expect(said.at(-1)).toBe("event join m11");
  });

  test("a room of 1,000 heard over one 20 s interval: one names line, not 1,000 joined lines", () => {
    const { t, said, offer } = summary();
    for (let n = 1; n <= 1000; n++) {
      t.advance(20); // ~25 answer our HELLO, the others at their next heartbeat
      offer(join(n));
    }
    expect(said).toEqual([]);
    t.advance(HB);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^in the room \(1000\): m01, m02, .* \+\d+ more$/);
    expect(Bun.stringWidth(said[0] as string)).toBeLessThanOrEqual(160 + 20);
    offer(join(1001));
    expect(said.at(-1)).toBe("event join m1001");
  });

  test(`members still trickling in: the names line comes after MAX_SETTLE_MS at most`, () => {
    const { t, said, offer } = summary();
    for (let n = 1; n <= 2 * (MAX_SETTLE_MS / 400) && said.length === 0; n++) {
      t.advance(400);
      offer(join(n));
    }
    expect(said[0]).toMatch(/^in the room \(\d+\)/);
    expect(t.now).toBeLessThanOrEqual(MAX_SETTLE_MS + 400);
  });

  test("waking in a room of 1,000: members coming back over 20 s make one line, not 1,000", () => {
    const { t, s, said, offer } = summary();
    for (let n = 1; n <= 1000; n++) offer(join(n));
    t.advance(HB + SETTLE_SLACK_MS);
    said.length = 0;
    t.advance(FREEZE_MIN_MS + 6000); // frozen
    s.tick();
    for (let n = 1; n <= 1000; n++) offer(timeout(n));
    for (let n = 1; n <= 1000; n++) {
      t.advance(20);
      offer(join(n));
    }
    t.advance(HB);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^we were frozen for \d+ s; 1000 members reappeared$/);
  });

  test("a single member heard while settling is said as before", () => {
    const { t, said, offer } = summary();
    offer(join(2));
    t.advance(HB + SETTLE_SLACK_MS);
    expect(said).toEqual(["event join m02"]);
  });

  test("messages and other events are never held", () => {
    const { said, s } = summary();
    const msg: SessionEvent = { type: "warning", time: new Date(0), text: "x" };
    expect(s.hold(msg)).toBe(false);
    expect(said).toEqual([]);
  });

  test("waking from an 8 s freeze: 18 timeouts and 18 joins become one line", () => {
    const { t, s, said, offer } = summary();
    t.advance(HB + SETTLE_SLACK_MS); // settled (empty room)
    said.length = 0;
    for (let k = 0; k < 8; k++) {
      t.advance(250);
      s.tick();
    }
    t.advance(8000); // stopped: no tick ran
    for (let n = 2; n < 20; n++) offer(timeout(n));
    for (let n = 2; n < 20; n++) {
      t.advance(20);
      offer(join(n));
    }
    t.advance(WAKE_HEARTBEATS * HB + SETTLE_SLACK_MS);
    expect(said).toEqual(["we were frozen for 8 s; 18 members reappeared"]);
  });

  test("after a freeze, who did not come back is said on a second line", () => {
    const { t, s, said, offer } = summary();
    t.advance(HB + SETTLE_SLACK_MS);
    s.tick();
    t.advance(FREEZE_MIN_MS + 3000);
    s.tick(); // the tick notices first this time
    for (let n = 2; n < 6; n++) offer(timeout(n));
    for (let n = 2; n < 5; n++) offer(join(n));
    t.advance(WAKE_HEARTBEATS * HB + SETTLE_SLACK_MS);
    expect(said).toEqual(["we were frozen for 5 s; 3 members reappeared", "gone: m05"]);
  });

  test("a busy moment shorter than FREEZE_MIN_MS is not a freeze", () => {
    const { t, s, said, offer } = summary();
    t.advance(HB + SETTLE_SLACK_MS);
    s.tick();
    t.advance(FREEZE_MIN_MS - 500);
    offer(timeout(2));
    expect(said).toEqual(["event leave m02"]);
  });
});

describe("members joining now (HELLO) while we settle", () => {
  test("get their own joined line; only members already here go in the names line", () => {
    const { t, said, offer } = summary();
    offer(join(1));
    offer(join(2));
    offer({ ...join(3), joining: true } as SessionEvent);
    expect(said).toEqual(["event join m03"]);
    t.advance(HB + SETTLE_SLACK_MS);
    expect(said[1]).toMatch(/in the room \(2\): m01, m02/);
  });
});
