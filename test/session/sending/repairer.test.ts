import { describe, expect, test } from "bun:test";
import type { MessageFrame } from "../../../src/protocol/index.ts";
import { RepairBuffer } from "../../../src/session/sending/repair-buffer.ts";
import { MAX_REQUESTERS, Repairer, toRanges } from "../../../src/session/sending/repairer.ts";
import { messageFrame } from "../../helpers/frames.ts";

const msg = (seq: number): MessageFrame =>
  messageFrame(seq, { action: true, payload: new Uint8Array([0x61]) });

function setup(sent: number, opts: { maxCount?: number; rate?: number; burst?: number } = {}) {
  const clock = { t: 0 };
  const buf = new RepairBuffer<MessageFrame>({ maxCount: opts.maxCount ?? 2048 });
  for (let i = 0; i < sent; i++) buf.add(msg(i));
  const r = new Repairer(buf, {
    now: () => clock.t,
    ratePerSec: opts.rate ?? 1000,
    burst: opts.burst ?? 64,
  });
  return { r, clock, buf };
}

describe("Repairer", () => {
  test("answers a NACK with repairs flagged as such", () => {
    const { r } = setup(10);
    expect(r.nextDeadline()).toBeUndefined();
    r.onNack([{ start: 3, count: 2 }]);
    expect(r.nextDeadline()).toBe(0);
    const p = r.poll();
    expect(p.repairs.map((f) => f.seq)).toEqual([3, 4]);
    expect(p.repairs.every((f) => f.repair && !f.history && f.action)).toBe(true);
    expect(p.gone).toEqual([]);
    expect(r.nextDeadline()).toBeUndefined();
  });

  test("several NACKs for the same data cost one repair (queue + hold-off)", () => {
    const { r, clock } = setup(10);
    r.onNack([{ start: 5, count: 1 }]);
    r.onNack([{ start: 5, count: 1 }]); // still queued
    expect(r.poll().repairs.length).toBe(1);
    clock.t = 50;
    r.onNack([{ start: 5, count: 1 }]); // repaired 50 ms ago
    expect(r.poll().repairs.length).toBe(0);
    expect(r.stats.merged).toBe(2);
    clock.t = 150; // a retry after the hold-off: a receiver lost the repair
    r.onNack([{ start: 5, count: 1 }]);
    expect(r.poll().repairs.map((f) => f.seq)).toEqual([5]);
    expect(r.stats.repairs).toBe(2);
  });

  test("a round of 1,000 members NACKing the same seq costs one repair; the next round one more", () => {
    const { r, clock } = setup(10);
    const ids = Array.from({ length: 1000 }, (_, i) => `member-${i}`);
    const sent: number[] = [];
    const poll = () => {
      for (const f of r.poll().repairs) sent.push(f.seq);
    };
    // Their back-offs spread the NACKs over 50 ms; the session polls after each one.
    ids.forEach((id, i) => {
      clock.t = (i * 50) / ids.length;
      r.onNack([{ start: 7, count: 1 }], id);
      poll();
    });
    expect(sent).toEqual([7]);
    expect(r.stats.merged).toBe(999);
    // A retry round (150 ms later): a member that lost the repair asks again, and so do others.
    for (const [i, id] of ids.slice(0, 300).entries()) {
      clock.t = 200 + i * 0.1;
      r.onNack([{ start: 7, count: 1 }], id);
      poll();
    }
    expect(sent).toEqual([7, 7]);
    expect(r.stats.repairs).toBe(2);
    expect(r.stats.forgotten).toBe(0);
  });

  test("requesters' budgets: 4,096 remembered, the oldest forgotten (and counted) past that", () => {
    expect(MAX_REQUESTERS).toBeGreaterThanOrEqual(4096);
    const { r } = setup(10);
    for (let i = 0; i < MAX_REQUESTERS; i++) r.onNack([{ start: 1, count: 1 }], `m${i}`);
    expect(r.stats.forgotten).toBe(0);
    r.onNack([{ start: 1, count: 1 }], "one-more");
    r.onNack([{ start: 1, count: 1 }], "and-another");
    expect(r.stats.forgotten).toBe(2);
  });

  test("rate limit: a token bucket spreads a big ask over time", () => {
    const { r, clock } = setup(1000, { rate: 1000, burst: 10 });
    r.onNack([{ start: 0, count: 100 }]);
    expect(r.poll().repairs.length).toBe(10);
    expect(r.queued).toBe(90);
    expect(r.nextDeadline()).toBe(1);
    clock.t = 1;
    expect(r.poll().repairs.length).toBe(1);
    clock.t = 50;
    expect(r.poll().repairs.length).toBe(10); // capped by the bucket size
    let total = 21;
    while (r.queued > 0) {
      clock.t = r.nextDeadline() as number;
      total += r.poll().repairs.length;
    }
    expect(total).toBe(100);
    expect(clock.t).toBeGreaterThanOrEqual(89);
  });

  test("data no longer held is answered GONE, merged, never for unsent seqs", () => {
    const { r } = setup(100, { maxCount: 10 }); // holds 90..99
    r.onNack([{ start: 10, count: 5 }]);
    r.onNack([{ start: 15, count: 5 }]); // adjacent: merged
    r.onNack([{ start: 12, count: 2 }]); // inside: merged
    r.onNack([{ start: 95, count: 10 }]); // 95..99 held, 100..104 never sent
    const p = r.poll();
    expect(p.gone).toEqual([{ start: 10, count: 10 }]);
    expect(p.repairs.map((f) => f.seq)).toEqual([95, 96, 97, 98, 99]);
    expect(r.poll().gone).toEqual([]);
  });

  test("a seq evicted while queued becomes GONE", () => {
    const { r, buf, clock } = setup(10, { maxCount: 10, burst: 1, rate: 1 });
    r.onNack([{ start: 0, count: 2 }]);
    expect(r.poll().repairs.map((f) => f.seq)).toEqual([0]);
    for (let i = 10; i < 15; i++) buf.add(msg(i)); // 1 is evicted
    clock.t = 1000;
    const p = r.poll();
    expect(p.repairs).toEqual([]);
    expect(p.gone).toEqual([{ start: 1, count: 1 }]);
  });

  test("GONE frames carry at most MAX_RANGES ranges; the rest follows", () => {
    const { r } = setup(200, { maxCount: 1 });
    for (let i = 0; i < 80; i += 2) r.onNack([{ start: i, count: 1 }]); // 40 separate ranges
    expect(r.poll().gone.length).toBe(32);
    expect(r.nextDeadline()).toBe(0);
    expect(r.poll().gone.length).toBe(8);
    expect(r.stats.gone).toBe(2);
  });

  test("waiting for tokens always makes progress (no float starvation at odd clock values)", () => {
    const { r, clock } = setup(1000, { rate: 1000, burst: 1 });
    clock.t = 512.2006083857269;
    r.onNack([{ start: 0, count: 200 }]);
    let polls = 0;
    let sent = 0;
    while (r.queued > 0 && polls < 1000) {
      const d = r.nextDeadline() as number;
      expect(d).toBeGreaterThanOrEqual(clock.t);
      clock.t = d;
      sent += r.poll().repairs.length;
      polls++;
    }
    expect(sent).toBe(200);
    expect(polls).toBeLessThan(450);
  });

  test("the queue is bounded", () => {
    const clock = { t: 0 };
    const buf = new RepairBuffer();
    for (let i = 0; i < 100; i++) buf.add(msg(i));
    const r = new Repairer(buf, { now: () => clock.t, maxQueue: 10 });
    r.onNack([{ start: 0, count: 100 }]);
    expect(r.queued).toBe(10);
    expect(r.stats.dropped).toBe(90);
  });

  test("a NACK is examined only as far as its requester's budget, checked before the work", () => {
    const clock = { t: 0 };
    const buf = new RepairBuffer<MessageFrame>({ maxCount: 16384 });
    for (let i = 0; i < 16384; i++) buf.add(msg(i));
    /** Held seqs handed back by each classify call: the work done for one NACK. */
    const examined: number[] = [];
    const classify = buf.classify.bind(buf);
    buf.classify = (ranges, limit) => {
      const c = classify(ranges, limit);
      examined.push(c.held.length);
      return c;
    };
    const r = new Repairer(buf, { now: () => clock.t, perRequesterPerSec: 2048 });
    // 32 ranges of 16,384 seqs, each the whole buffer: 524,288 seqs asked in one NACK.
    const ranges = Array.from({ length: 32 }, () => ({ start: 0, count: 16384 }));
    r.onNack(ranges, "mallory");
    expect(examined[0]).toBeLessThanOrEqual(2048);
    expect(r.queued).toBe(2048);
    // Its budget is spent: the next NACKs cost no classification at all.
    for (let i = 0; i < 10; i++) r.onNack(ranges, "mallory");
    expect(examined.slice(1)).toEqual(Array(10).fill(0));
    expect(r.queued).toBe(2048);
    expect(r.stats.refused).toBeGreaterThanOrEqual(10 * 32 * 16384);
    // Another requester has its own budget; a second later, mallory has one again.
    r.onNack([{ start: 5000, count: 10 }], "bob");
    expect(examined[11]).toBe(10);
    clock.t = 1000;
    r.onNack(ranges, "mallory");
    expect(examined[12]).toBeLessThanOrEqual(2048);
  });

  test("toRanges merges consecutive runs, across the wrap", () => {
    expect(toRanges([0xfffffffe, 0xffffffff, 0, 5, 6, 9])).toEqual([
      { start: 0xfffffffe, count: 3 },
      { start: 5, count: 2 },
      { start: 9, count: 1 },
    ]);
  });
});
