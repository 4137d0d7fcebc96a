import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MAX_RANGES, type MessageFrame, seqAdd, seqDiff } from "../../../src/protocol/index.ts";
import { suppressionBackoff } from "../../../src/session/backoff.ts";
import {
  type Delivery,
  FRESH_ROUNDS_APART_MS,
  lostCount,
  ReceiverWindow,
  START_HOLD_MS,
  startPoint,
  WINDOW_DEFAULTS,
  type WindowOptions,
} from "../../../src/session/receiving/receiver-window.ts";
import { messageFrame } from "../../helpers/frames.ts";

const msg = (seq: number, fragIndex = 0, fragCount = 1, repair = false): MessageFrame =>
  messageFrame(seq, { fragIndex, fragCount, repair });

/** A window with a settable fake clock and random. */
function setup(base = 0, opts: Partial<WindowOptions> = {}) {
  const clock = { t: 1000, r: 0.5 };
  const w = new ReceiverWindow(base, {
    now: () => clock.t,
    random: () => clock.r,
    ...opts,
  });
  return { w, clock };
}

const seqs = (out: Delivery[]) =>
  out.map((d) => (d.type === "frame" ? d.frame.seq : `lost ${d.range.start}+${d.range.count}`));

describe("startPoint (PROTOCOL.md §5.1)", () => {
  const joinedAt = 10_000;
  test("instance started at or after our join: from seq 0", () => {
    expect(startPoint({ joinedAt, presence: { started: 10_000, tail: 41 } })).toBe(0);
    expect(startPoint({ joinedAt, presence: { started: 12_000, tail: 0xffffffff } })).toBe(0);
    expect(startPoint({ joinedAt, presence: { started: 12_000, tail: 41 }, firstHeard: 40 })).toBe(
      0,
    );
  });
  test("instance started before our join: after its tail, no history", () => {
    expect(startPoint({ joinedAt, presence: { started: 9_999, tail: 41 } })).toBe(42);
    expect(startPoint({ joinedAt, presence: { started: 1, tail: 0xffffffff } })).toBe(0);
    // a fragment heard (held) before the heartbeat and older than its tail is kept
    expect(startPoint({ joinedAt, presence: { started: 1, tail: 41 }, firstHeard: 40 })).toBe(40);
    expect(startPoint({ joinedAt, presence: { started: 1, tail: 41 }, firstHeard: 45 })).toBe(42);
    // circular: tail at the wrap
    expect(
      startPoint({ joinedAt, presence: { started: 1, tail: 0xfffffffe }, firstHeard: 0 }),
    ).toBe(0xffffffff);
  });
  test("slack for clock skew counts a start just before our join as after", () => {
    const presence = { started: 9_500, tail: 41 };
    expect(startPoint({ joinedAt, presence })).toBe(42);
    expect(startPoint({ joinedAt, presence, slackMs: 1000 })).toBe(0);
  });
  test("a MESSAGE before any presence frame: decidable only at seq 0 or after the hold", () => {
    expect(startPoint({ joinedAt })).toBeUndefined();
    expect(startPoint({ joinedAt, firstHeard: 0 })).toBe(0);
    expect(startPoint({ joinedAt, firstHeard: 7 })).toBeUndefined();
    expect(startPoint({ joinedAt, firstHeard: 7, holdExpired: true })).toBe(7);
    expect(START_HOLD_MS).toBeLessThanOrEqual(2000);
  });
});

describe("ReceiverWindow: ordering and duplicates", () => {
  test("in-order frames are delivered at once; duplicates and old seqs are dropped", () => {
    const { w } = setup(5);
    expect(seqs(w.onMessage(msg(5)))).toEqual([5]);
    expect(seqs(w.onMessage(msg(6)))).toEqual([6]);
    expect(w.onMessage(msg(6))).toEqual([]);
    expect(w.onMessage(msg(4))).toEqual([]);
    expect(w.stats.duplicates).toBe(2);
    expect(w.next).toBe(7);
    expect(w.nextDeadline()).toBeUndefined();
  });

  test("out-of-order frames are held until the gap is filled, then delivered in order", () => {
    const { w } = setup(0);
    expect(w.onMessage(msg(2))).toEqual([]);
    expect(w.onMessage(msg(3))).toEqual([]);
    expect(w.onMessage(msg(3))).toEqual([]); // duplicate of a held one
    expect(w.held).toBe(2);
    expect(w.missing).toBe(2);
    expect(seqs(w.onMessage(msg(1, 0, 1, true)))).toEqual([]);
    expect(seqs(w.onMessage(msg(0)))).toEqual([0, 1, 2, 3]);
    expect(w.missing).toBe(0);
    expect(w.held).toBe(0);
    expect(w.stats.duplicates).toBe(1);
  });

  test("a repair that arrives cancels the NACK", () => {
    const { w, clock } = setup(0);
    w.onMessage(msg(1));
    w.onMessage(msg(0, 0, 1, true));
    clock.t += 1000;
    expect(w.poll()).toEqual({ nack: [], out: [] });
    expect(w.nextDeadline()).toBeUndefined();
  });
});

describe("ReceiverWindow: NACK timing", () => {
  test("a gap is NACKed after the random back-off, then retried", () => {
    const { w, clock } = setup(0, { roomSize: () => 100, retryMs: 200 });
    clock.r = 0.5; // back-off: the median for 100 members, retry 250 ms
    const backoff = suppressionBackoff(() => 0.5, 100, WINDOW_DEFAULTS.nackBackoffMs);
    expect(backoff).toBeGreaterThan(50);
    w.onMessage(msg(0));
    w.onMessage(msg(3));
    expect(w.nextDeadline()).toBe(1000 + backoff);
    clock.t = 1000 + backoff - 0.01;
    expect(w.poll().nack).toEqual([]);
    clock.t = 1000 + backoff;
    expect(w.poll().nack).toEqual([{ start: 1, count: 2 }]);
    expect(w.stats.nacksSent).toBe(1);
    expect(w.nextDeadline()).toBe(clock.t + 250);
    clock.t += 100;
    expect(w.poll().nack).toEqual([]);
    clock.t += 150;
    expect(w.poll().nack).toEqual([{ start: 1, count: 2 }]);
  });

  test("the back-off is suppressionBackoff's, for the room size asked when the gap is found", () => {
    let size = 100;
    for (const r of [0, 0.5, 0.999]) {
      const { w, clock } = setup(0, { roomSize: () => size });
      clock.r = r;
      w.onTail(0);
      expect(w.nextDeadline()).toBeCloseTo(1000 + suppressionBackoff(() => r, 100, 60), 9);
    }
    // the room shrank to 4: the next gap is NACKed at once
    const { w, clock } = setup(0, { roomSize: () => size });
    clock.r = 0.5;
    w.onTail(0);
    expect(w.nextDeadline()).toBeGreaterThan(1050);
    size = 4;
    clock.t = 1200;
    w.poll();
    w.onTail(3);
    expect(w.nextDeadline()).toBe(1200);
    expect(w.poll().nack).toEqual([{ start: 1, count: 3 }]);
  });

  test("no back-off in a room of 4 or fewer (the default: a room of two)", () => {
    for (const roomSize of [undefined, () => 1, () => 4]) {
      const { w, clock } = setup(0, roomSize ? { roomSize } : {});
      clock.r = 0.9;
      w.onMessage(msg(0));
      w.onMessage(msg(2));
      expect(w.nextDeadline()).toBe(1000);
      expect(w.poll().nack).toEqual([{ start: 1, count: 1 }]);
    }
  });

  test("no back-off: gaps found one after the other share a NACK every FRESH_ROUNDS_APART_MS", () => {
    const { w, clock } = setup(0);
    w.onMessage(msg(0));
    w.onMessage(msg(2)); // gap at 1: NACKed at once
    expect(w.poll().nack).toEqual([{ start: 1, count: 1 }]);
    clock.t += 3;
    w.onMessage(msg(4)); // gap at 3, 3 ms later: waits for the next fresh round
    w.onMessage(msg(6)); // and 5 joins it
    expect(w.nextDeadline()).toBe(1000 + FRESH_ROUNDS_APART_MS);
    expect(w.poll().nack).toEqual([]);
    clock.t = 1000 + FRESH_ROUNDS_APART_MS;
    expect(w.poll().nack).toEqual([
      { start: 3, count: 1 },
      { start: 5, count: 1 },
    ]);
    clock.t += FRESH_ROUNDS_APART_MS;
    w.onMessage(msg(8)); // a gap found a round later goes at once again
    expect(w.nextDeadline()).toBe(clock.t);
    expect(w.poll().nack).toEqual([{ start: 7, count: 1 }]);
  });

  test("tail loss: a heartbeat tail ahead of what we have is NACKed", () => {
    const { w, clock } = setup(0);
    w.onMessage(msg(0));
    expect(w.onTail(0)).toEqual([]); // nothing new
    expect(w.nextDeadline()).toBeUndefined();
    w.onTail(2);
    expect(w.highest).toBe(2);
    clock.t += 60;
    expect(w.poll().nack).toEqual([{ start: 1, count: 2 }]);
    expect(seqs(w.onMessage(msg(1, 0, 1, true)))).toEqual([1]);
    expect(seqs(w.onMessage(msg(2, 0, 1, true)))).toEqual([2]);
  });

  test("nothing sent yet (tail = base - 1) is not a gap", () => {
    const { w } = setup(0);
    expect(w.onTail(0xffffffff)).toEqual([]);
    expect(w.missing).toBe(0);
  });

  test("at most MAX_RANGES ranges per NACK; the rest stays due for the next poll", () => {
    const { w, clock } = setup(0);
    for (let i = 1; i <= 80; i += 2) w.onMessage(msg(i)); // gaps at 0, 2, 4, ..., 78
    clock.t += 100;
    const a = w.poll().nack;
    expect(a.length).toBe(MAX_RANGES);
    expect(a[0]).toEqual({ start: 0, count: 1 });
    expect(w.nextDeadline()).toBeLessThanOrEqual(clock.t);
    const b = w.poll().nack;
    expect(b.length).toBe(40 - MAX_RANGES);
    expect(b[0]).toEqual({ start: 64, count: 1 });
    expect(w.nextDeadline()).toBeGreaterThan(clock.t);
  });
});

describe("ReceiverWindow: suppression", () => {
  test("a NACK heard before our timer fires replaces ours (pushed to a retry)", () => {
    const { w, clock } = setup(0, { retryMs: 200 });
    clock.r = 0.5; // back-off 35 ms; retry 250 ms
    w.onMessage(msg(2)); // 0, 1 missing, due 1035
    clock.t = 1020;
    w.onNackHeard([{ start: 0, count: 2 }]);
    expect(w.stats.suppressed).toBe(2);
    expect(w.nextDeadline()).toBe(1270);
    clock.t = 1035;
    expect(w.poll().nack).toEqual([]);
    // a second NACK of the same round (within half a retry) changes nothing
    clock.t = 1050;
    w.onNackHeard([{ start: 0, count: 2 }]);
    expect(w.nextDeadline()).toBe(1270);
    // the repair came for 0 only; 1 is asked again at the retry
    w.onMessage(msg(0, 0, 1, true));
    clock.t = 1270;
    expect(w.poll().nack).toEqual([{ start: 1, count: 1 }]);
    expect(w.stats.nacksSent).toBe(1);
  });

  test("a heard NACK for only part of our gap suppresses only that part", () => {
    const { w, clock } = setup(0);
    clock.r = 0;
    w.onMessage(msg(4)); // 0..3 missing, due 1010
    w.onNackHeard([{ start: 1, count: 2 }]);
    clock.t = 1010;
    expect(w.poll().nack).toEqual([
      { start: 0, count: 1 },
      { start: 3, count: 1 },
    ]);
  });

  test("a heard NACK for seqs we have, or do not know of, does nothing", () => {
    const { w, clock } = setup(0);
    w.onMessage(msg(0));
    w.onNackHeard([{ start: 0, count: 100 }]);
    expect(w.missing).toBe(0);
    expect(w.stats.suppressed).toBe(0);
    clock.t += 1000;
    expect(w.poll()).toEqual({ nack: [], out: [] });
  });
});

describe("ReceiverWindow: explicit loss", () => {
  test("after maxRetries the seq is lost, reported in order, and later frames flow", () => {
    const { w, clock } = setup(0, { maxRetries: 3, retryMs: 100 });
    clock.r = 0;
    w.onMessage(msg(0));
    w.onMessage(msg(2));
    w.onMessage(msg(3));
    let nacks = 0;
    let out: Delivery[] = [];
    for (let i = 0; i < 100 && out.length === 0; i++) {
      clock.t += 10;
      const p = w.poll();
      if (p.nack.length) nacks++;
      out = p.out;
    }
    expect(nacks).toBe(3);
    expect(seqs(out)).toEqual(["lost 1+1", 2, 3]);
    expect(lostCount(out)).toBe(1);
    expect(w.stats.lost).toBe(1);
    // the lost seq arriving late is not delivered again
    expect(w.onMessage(msg(1, 0, 1, true))).toEqual([]);
    expect(seqs(w.onMessage(msg(4)))).toEqual([4]);
  });

  test("heard NACKs count as attempts too (others asked, the repair never reached us)", () => {
    const { w, clock } = setup(0, { maxRetries: 2, retryMs: 100 });
    clock.r = 0;
    w.onMessage(msg(1));
    for (let i = 0; i < 2; i++) {
      w.onNackHeard([{ start: 0, count: 1 }]);
      clock.t += 100;
    }
    expect(seqs(w.poll().out)).toEqual(["lost 0+1", 1]);
    expect(w.stats.nacksSent).toBe(0);
  });

  test("GONE declares missing seqs lost at once; a loss after a gap waits its turn", () => {
    const { w } = setup(10);
    w.onMessage(msg(13)); // 10, 11, 12 missing
    expect(seqs(w.onGone([{ start: 11, count: 5 }]))).toEqual([]); // 10 still missing
    expect(w.missing).toBe(1);
    expect(seqs(w.onMessage(msg(10, 0, 1, true)))).toEqual([10, "lost 11+2", 13]);
    expect(w.stats.lost).toBe(2);
  });

  test("GONE for seqs we hold or never heard of changes nothing", () => {
    const { w } = setup(0);
    w.onMessage(msg(1));
    expect(w.onGone([{ start: 1, count: 1 }])).toEqual([]);
    expect(w.onGone([{ start: 50, count: 1 }])).toEqual([]);
    expect(w.highest).toBe(1);
    expect(seqs(w.onMessage(msg(0)))).toEqual([0, 1]);
  });

  test("giveUp: everything missing is lost, held frames are delivered, the window goes on", () => {
    const { w } = setup(0);
    w.onMessage(msg(2));
    w.onTail(5);
    expect(seqs(w.giveUp())).toEqual(["lost 0+2", 2, "lost 3+3"]);
    expect(w.missing).toBe(0);
    expect(w.nextDeadline()).toBeUndefined();
    expect(seqs(w.onMessage(msg(6)))).toEqual([6]);
  });
});

describe("ReceiverWindow: bounded memory", () => {
  test("a sender running more than maxPending ahead forces the oldest seqs out, in order", () => {
    const { w } = setup(0, { maxPending: 8 });
    w.onMessage(msg(1));
    w.onMessage(msg(3));
    const out = w.onMessage(msg(10)); // span 0..10 = 11 > 8: 0, 1, 2 forced out
    expect(seqs(out)).toEqual(["lost 0+1", 1, "lost 2+1", 3]);
    expect(w.next).toBe(4);
    expect(seqDiff(w.highest, w.next) + 1).toBeLessThanOrEqual(8);
  });

  test("a huge jump is counted in bulk, not seq by seq", () => {
    const { w } = setup(0, { maxPending: 16 });
    w.onMessage(msg(0));
    const out = w.onTail(2 ** 30);
    expect(lostCount(out)).toBe(2 ** 30 - 16);
    expect(w.missing).toBe(16);
    expect(w.next).toBe(2 ** 30 - 15);
  });
});

describe("ReceiverWindow: across the 2^32 wrap", () => {
  test("gaps, NACK ranges and delivery wrap around", () => {
    const { w, clock } = setup(0xfffffffd);
    expect(seqs(w.onMessage(msg(0xfffffffd)))).toEqual([0xfffffffd]);
    w.onMessage(msg(1)); // 0xfffffffe, 0xffffffff, 0 missing
    expect(w.missing).toBe(3);
    clock.t += 100;
    expect(w.poll().nack).toEqual([{ start: 0xfffffffe, count: 3 }]);
    w.onMessage(msg(0));
    w.onMessage(msg(0xffffffff));
    expect(seqs(w.onMessage(msg(0xfffffffe)))).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    expect(w.next).toBe(2);
    expect(w.onMessage(msg(0xffffffff))).toEqual([]); // old, across the wrap
  });

  test("GONE and heard NACK ranges that wrap", () => {
    const { w, clock } = setup(0xfffffffe);
    clock.r = 0;
    w.onMessage(msg(2));
    w.onNackHeard([{ start: 0xffffffff, count: 2 }]);
    clock.t += 10;
    expect(w.poll().nack).toEqual([
      { start: 0xfffffffe, count: 1 },
      { start: 1, count: 1 },
    ]);
    expect(seqs(w.onGone([{ start: 0xfffffffe, count: 4 }]))).toEqual(["lost 4294967294+4", 2]);
  });
});

describe("ReceiverWindow: exactly once, in order, never a silent gap (property)", () => {
  test("random arrivals, duplicates, repairs, NACKs heard, GONEs and polls", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("msg" as const), off: fc.integer({ min: -5, max: 60 }) }),
      fc.record({ k: fc.constant("tail" as const), off: fc.integer({ min: -5, max: 60 }) }),
      fc.record({
        k: fc.constant("heard" as const),
        off: fc.integer({ min: -5, max: 60 }),
        n: fc.integer({ min: 1, max: 10 }),
      }),
      fc.record({
        k: fc.constant("gone" as const),
        off: fc.integer({ min: -5, max: 60 }),
        n: fc.integer({ min: 1, max: 10 }),
      }),
      fc.record({ k: fc.constant("poll" as const), dt: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(0, 0xffffffd0, 123456),
        fc.array(op, { maxLength: 120 }),
        fc.integer({ min: 4, max: 64 }),
        (base, ops, maxPending) => {
          let t = 0;
          let r = 0.3;
          const w = new ReceiverWindow(base, {
            now: () => t,
            random: () => {
              r = (r * 9301 + 0.49297) % 1;
              return r;
            },
            maxPending,
            maxRetries: 4,
          });
          const got: number[] = []; // offsets from base, delivered or lost, in output order
          const take = (out: Delivery[]) => {
            for (const d of out) {
              if (d.type === "frame") got.push(seqDiff(d.frame.seq, base));
              else
                for (let i = 0; i < d.range.count; i++) got.push(seqDiff(d.range.start, base) + i);
            }
          };
          let known = -1; // highest offset known to exist
          for (const o of ops) {
            if (o.k === "msg") {
              take(w.onMessage(msg(seqAdd(base, o.off))));
              if (o.off > known) known = o.off;
            } else if (o.k === "tail") {
              take(w.onTail(seqAdd(base, o.off)));
              if (o.off > known) known = o.off;
            } else if (o.k === "heard") {
              w.onNackHeard([{ start: seqAdd(base, o.off), count: o.n }]);
            } else if (o.k === "gone") {
              take(w.onGone([{ start: seqAdd(base, o.off), count: o.n }]));
            } else {
              t += o.dt;
              const p = w.poll();
              take(p.out);
              expect(p.nack.length).toBeLessThanOrEqual(MAX_RANGES);
              for (const rg of p.nack) {
                // only seqs in the window are asked for
                expect(seqDiff(rg.start, w.next)).toBeGreaterThanOrEqual(-rg.count);
              }
            }
            expect(seqDiff(w.highest, w.next) + 1).toBeLessThanOrEqual(maxPending);
          }
          take(w.giveUp());
          // strictly increasing from 0, no holes: every known seq delivered or lost exactly once
          expect(got).toEqual(Array.from({ length: known + 1 }, (_, i) => i));
          expect(w.stats.delivered + w.stats.lost).toBe(known + 1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
