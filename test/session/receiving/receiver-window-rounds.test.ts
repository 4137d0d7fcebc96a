/**
 * ReceiverWindow NACKs in rounds (issue 7, "repair traffic that stays small"): a gap of any length
 * costs O(1) NACK frames per retry round per receiver; receivers that hear each other's NACKs
 * stay in step and send about one frame per round between them; a 10,000-seq gap fits in the
 * window and is repaired, not forced out. All on a virtual clock with seeded randomness.
 */
import { describe, expect, test } from "bun:test";
import { type MessageFrame, type SeqRange, seqAdd } from "../../../src/protocol/index.ts";
import {
  type Delivery,
  lostCount,
  ReceiverWindow,
  WINDOW_DEFAULTS,
} from "../../../src/session/receiving/receiver-window.ts";
import { messageFrame } from "../../helpers/frames.ts";
import { mulberry32 } from "../../helpers/virtual-clock.ts";

const msg = (seq: number, repair = false): MessageFrame => messageFrame(seq, { repair });

const RETRY = WINDOW_DEFAULTS.retryMs;
const MAX_RETRIES = WINDOW_DEFAULTS.maxRetries;

/** Receivers of one sender's stream on one virtual clock, each with its own randomness. */
class Room {
  t = 1000;
  readonly ws: ReceiverWindow[] = [];
  readonly out: Delivery[][] = [];
  /** Every NACK frame, in time order. */
  readonly frames: { t: number; from: number; ranges: SeqRange[] }[] = [];
  private queue: { at: number; fn: () => void }[] = [];
  /** Called for every NACK frame a window sends (e.g. to let the others hear it). */
  onNack: (from: number, ranges: SeqRange[]) => void = () => {};

  /** `roomSize`: N̂ for the NACK back-off; default the receivers and the sender. */
  constructor(receivers: number, seed: number, roomSize = receivers + 1) {
    for (let i = 0; i < receivers; i++) {
      this.ws.push(
        new ReceiverWindow(0, {
          now: () => this.t,
          random: mulberry32(seed * 7 + i + 1),
          roomSize: () => roomSize,
        }),
      );
      this.out.push([]);
    }
  }

  at(at: number, fn: () => void): void {
    // keep the queue sorted by time, in insertion order for equal times
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.queue[mid]?.at ?? 0) <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, { at, fn });
  }

  /** Runs timers and queued events until nothing is left or `until`. */
  run(until = Number.POSITIVE_INFINITY): void {
    for (let steps = 0; steps < 1_000_000; steps++) {
      let at = this.queue[0]?.at ?? Number.POSITIVE_INFINITY;
      for (const w of this.ws) at = Math.min(at, w.nextDeadline() ?? Number.POSITIVE_INFINITY);
      if (at === Number.POSITIVE_INFINITY || at > until) return;
      this.t = Math.max(this.t, at);
      while (this.queue[0] && this.queue[0].at <= this.t) this.queue.shift()?.fn();
      this.ws.forEach((w, i) => {
        const d = w.nextDeadline();
        if (d === undefined || d > this.t) return;
        // as the session does: poll until no NACK is left (at most 64 frames at a time)
        for (let k = 0; k < 64; k++) {
          const p = w.poll();
          this.out[i]?.push(...p.out);
          if (p.nack.length === 0) break;
          this.frames.push({ t: this.t, from: i, ranges: p.nack.map((r) => ({ ...r })) });
          this.onNack(i, p.nack);
        }
      });
    }
    throw new Error("simulation did not settle");
  }

  /** Lets every window hear the others' NACKs, `latency` ms later. */
  shareNacks(latency: number): void {
    this.onNack = (from, ranges) => {
      const copy = ranges.map((r) => ({ ...r }));
      this.ws.forEach((w, i) => {
        if (i !== from) this.at(this.t + latency, () => w.onNackHeard(copy));
      });
    };
  }

  /**
   * NACK frames grouped into retry rounds: a round starts with a frame more than half a retry
   * interval after the previous round's start (attempts are at least `retryMs` apart).
   */
  rounds(): number[] {
    const res: number[] = [];
    let start = Number.NEGATIVE_INFINITY;
    for (const f of this.frames) {
      if (f.t - start > RETRY / 2) {
        start = f.t;
        res.push(0);
      }
      res[res.length - 1] = (res[res.length - 1] ?? 0) + 1;
    }
    return res;
  }
}

const flat = (out: Delivery[]) => {
  const res: { seq: number; lost: boolean }[] = [];
  for (const d of out) {
    if (d.type === "frame") res.push({ seq: d.frame.seq, lost: false });
    else for (let i = 0; i < d.range.count; i++) res.push({ seq: d.range.start + i, lost: true });
  }
  return res;
};

const seqsInFrames = (frames: { ranges: SeqRange[] }[]) =>
  frames.reduce((a, f) => a + f.ranges.reduce((b, r) => b + r.count, 0), 0);

describe("ReceiverWindow rounds: one receiver", () => {
  test("a 10,000-seq gap is NACKed whole: 1 frame per round, maxRetries rounds, then lost", () => {
    const room = new Room(1, 1);
    const w = room.ws[0] as ReceiverWindow;
    room.out[0]?.push(...w.onMessage(msg(0)));
    room.out[0]?.push(...w.onMessage(msg(10_001)));
    expect(w.missing).toBe(10_000); // in the window, not forced out
    room.run();
    const rounds = room.rounds();
    console.log(
      `1 receiver, 10,000-seq gap: ${room.frames.length} NACK frames in ${rounds.length} rounds`,
    );
    expect(rounds.length).toBe(MAX_RETRIES);
    expect(rounds.every((n) => n === 1)).toBe(true);
    for (const f of room.frames) expect(f.ranges).toEqual([{ start: 1, count: 10_000 }]);
    // attempts are at least retryMs apart (the repairer's hold-off must not swallow them)
    for (let i = 1; i < room.frames.length; i++) {
      const gap = (room.frames[i]?.t ?? 0) - (room.frames[i - 1]?.t ?? 0);
      expect(gap).toBeGreaterThanOrEqual(RETRY);
      expect(gap).toBeLessThanOrEqual(RETRY * 1.5);
    }
    expect(w.stats.nacksSent).toBe(MAX_RETRIES);
    expect(flat(room.out[0] ?? [])).toEqual([
      { seq: 0, lost: false },
      ...Array.from({ length: 10_000 }, (_, i) => ({ seq: i + 1, lost: true })),
      { seq: 10_001, lost: false },
    ]);
    expect(w.nextDeadline()).toBeUndefined();
  });

  test("out of step no more: after a heard NACK for the gap, still one frame per round", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      // one of a big room's receivers (a NACK back-off), another member's NACK heard first
      const room = new Room(1, seed, 100);
      const w = room.ws[0] as ReceiverWindow;
      w.onMessage(msg(0));
      w.onMessage(msg(4097)); // a 4,096-seq gap
      room.at(room.t + 5, () => w.onNackHeard([{ start: 1, count: 4096 }]));
      room.run();
      const rounds = room.rounds();
      expect(rounds.every((n) => n === 1)).toBe(true);
      // the heard NACK was an attempt too
      expect(room.frames.length).toBe(MAX_RETRIES - 1);
      expect(w.stats.lost).toBe(4096);
      expect(w.stats.suppressed).toBe(4096);
    }
  });

  test("heard NACKs for parts of the gap at different times: the parts fall back into step", () => {
    let frames = 0;
    let late = 0; // rounds after the 3rd with more than one frame
    let roundsAfter = 0;
    const seeds = 20;
    for (let seed = 1; seed <= seeds; seed++) {
      const room = new Room(1, seed);
      const w = room.ws[0] as ReceiverWindow;
      w.onMessage(msg(0));
      w.onMessage(msg(9001));
      room.at(room.t + 5, () => w.onNackHeard([{ start: 1, count: 3000 }]));
      room.at(room.t + 25, () => w.onNackHeard([{ start: 3001, count: 3000 }]));
      room.at(room.t + 45, () => w.onNackHeard([{ start: 6001, count: 3000 }]));
      room.run();
      const rounds = room.rounds();
      expect(Math.max(...rounds)).toBeLessThanOrEqual(3);
      late += rounds.slice(3).filter((n) => n > 1).length;
      roundsAfter += rounds.slice(3).length;
      frames += room.frames.length;
      expect(w.stats.lost).toBe(9000);
    }
    console.log(
      `1 receiver, 9,000-seq gap heard in 3 parts: ${(frames / seeds).toFixed(1)} NACK frames per run, ${late} of ${roundsAfter} rounds after the 3rd split`,
    );
    expect(frames / seeds).toBeLessThanOrEqual(MAX_RETRIES * 1.3);
    expect(late).toBeLessThanOrEqual(roundsAfter * 0.15);
  });
});

describe("ReceiverWindow rounds: three receivers that hear each other's NACKs", () => {
  test("a 10,000-seq gap at all three costs about one NACK frame per round in total", () => {
    const perRound: number[] = [];
    let maxInRound = 0;
    const seeds = 30;
    for (let seed = 1; seed <= seeds; seed++) {
      const room = new Room(3, seed);
      room.shareNacks(0.5);
      room.ws.forEach((w, i) => {
        // the same loss, seen a little apart (the datagram after the gap arrives at each)
        room.at(room.t + i * 0.2, () => {
          room.out[i]?.push(...w.onMessage(msg(0)));
          room.out[i]?.push(...w.onMessage(msg(10_001)));
        });
      });
      room.run();
      const rounds = room.rounds();
      maxInRound = Math.max(maxInRound, ...rounds);
      perRound.push(room.frames.length / rounds.length);
      // rounds go on until the seqs are declared lost, every attempt counted (ours or heard)
      expect(rounds.length).toBeGreaterThanOrEqual(MAX_RETRIES / 2);
      expect(rounds.length).toBeLessThanOrEqual(MAX_RETRIES);
      for (const [i, w] of room.ws.entries()) {
        expect(w.stats.lost).toBe(10_000);
        expect(lostCount(room.out[i] ?? [])).toBe(10_000);
      }
      // each frame asks for the whole gap
      expect(seqsInFrames(room.frames)).toBe(room.frames.length * 10_000);
    }
    const mean = perRound.reduce((a, b) => a + b, 0) / perRound.length;
    console.log(
      `3 receivers, 10,000-seq gap, ${seeds} seeds: ${mean.toFixed(2)} NACK frames per round in total (max ${maxInRound} in one round)`,
    );
    expect(maxInRound).toBeLessThanOrEqual(3);
    expect(mean).toBeLessThanOrEqual(1.5);
  });

  test("when the repairs come, every receiver gets the whole gap and nothing is lost", () => {
    const room = new Room(3, 42);
    room.shareNacks(0.5);
    const repaired = new Set<number>();
    const onNack = room.onNack;
    room.onNack = (from, ranges) => {
      onNack(from, ranges);
      // the sender repairs each seq once (its hold-off merges the others' NACKs), 1 ms later
      for (const r of ranges) {
        for (let i = 0; i < r.count; i++) {
          const seq = seqAdd(r.start, i);
          if (repaired.has(seq)) continue;
          repaired.add(seq);
          room.at(room.t + 1, () => {
            room.ws.forEach((w, k) => {
              room.out[k]?.push(...w.onMessage(msg(seq, true)));
            });
          });
        }
      }
    };
    room.ws.forEach((w, i) => {
      room.out[i]?.push(...w.onMessage(msg(0)));
      room.out[i]?.push(...w.onMessage(msg(10_001)));
    });
    room.run();
    for (const [i, w] of room.ws.entries()) {
      expect(w.stats.lost).toBe(0);
      expect(w.missing).toBe(0);
      const got = flat(room.out[i] ?? []);
      expect(got.length).toBe(10_002);
      expect(got.every((g, k) => g.seq === k && !g.lost)).toBe(true);
    }
    expect(room.frames.length).toBeLessThanOrEqual(3);
  });
});

describe("ReceiverWindow rounds: the window is wide enough to repair a big gap", () => {
  test("a 10,000-seq gap while the sender streams on at 40 messages/ms: NACKed and repaired", () => {
    const room = new Room(1, 7);
    const w = room.ws[0] as ReceiverWindow;
    const total = 14_000;
    const dropped = (seq: number) => seq >= 1000 && seq < 11_000;
    // 40 messages per ms, the 10,000 from seq 1000 dropped (a receiver stalled for 250 ms)
    for (let seq = 0; seq < total; seq++) {
      if (!dropped(seq))
        room.at(room.t + seq / 40, () => room.out[0]?.push(...w.onMessage(msg(seq))));
    }
    room.onNack = (_from, ranges) => {
      for (const r of ranges) {
        for (let i = 0; i < r.count; i++) {
          const seq = seqAdd(r.start, i);
          room.at(room.t + 2, () => room.out[0]?.push(...w.onMessage(msg(seq, true))));
        }
      }
    };
    room.run();
    expect(w.stats.lost).toBe(0);
    const got = flat(room.out[0] ?? []);
    expect(got.length).toBe(total);
    expect(got.every((g, k) => g.seq === k && !g.lost)).toBe(true);
    expect(room.frames.length).toBe(1);
    expect(room.frames[0]?.ranges).toEqual([{ start: 1000, count: 10_000 }]);
  });

  test("the default window spans 16,384 seqs", () => {
    expect(WINDOW_DEFAULTS.maxPending).toBe(16_384);
    const { ws } = new Room(1, 1);
    const w = ws[0] as ReceiverWindow;
    expect(w.onMessage(msg(16_383))).toEqual([]);
    expect(w.missing).toBe(16_383);
    expect(lostCount(w.onMessage(msg(16_384)))).toBe(1); // one more: the oldest is forced out
  });
});

describe("ReceiverWindow rounds: cost stays linear in the window", () => {
  /** Counts Map/Set lookups and iteration steps while fn runs. */
  function countWork(fn: () => void): number {
    const mapIter = Object.getPrototypeOf(new Map()[Symbol.iterator]());
    const setIter = Object.getPrototypeOf(new Set()[Symbol.iterator]());
    const saved = {
      mapNext: mapIter.next,
      setNext: setIter.next,
      get: Map.prototype.get,
      has: Set.prototype.has,
    };
    let n = 0;
    mapIter.next = function (this: unknown) {
      n++;
      return saved.mapNext.call(this);
    };
    setIter.next = function (this: unknown) {
      n++;
      return saved.setNext.call(this);
    };
    Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) {
      n++;
      return saved.get.call(this, k);
    };
    Set.prototype.has = function (this: Set<unknown>, k: unknown) {
      n++;
      return saved.has.call(this, k);
    };
    try {
      fn();
    } finally {
      mapIter.next = saved.mapNext;
      setIter.next = saved.setNext;
      Map.prototype.get = saved.get;
      Set.prototype.has = saved.has;
    }
    return n;
  }

  test("16k missing seqs repaired one by one, with nextDeadline() and poll() after each", () => {
    const n = 16_382;
    let t = 0;
    const w = new ReceiverWindow(0, { now: () => t, random: mulberry32(3) });
    w.onMessage(msg(0));
    w.onMessage(msg(n + 1));
    t = w.nextDeadline() ?? 0;
    const nack = w.poll().nack;
    expect(nack).toEqual([{ start: 1, count: n }]);
    let delivered = 0;
    const work = countWork(() => {
      // repairs arrive in random order, as the session sees them; it re-arms its timer after
      // every datagram and polls whenever that timer is due
      const order = Array.from({ length: n }, (_, i) => i + 1);
      const rnd = mulberry32(9);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      for (const seq of order) {
        t += 0.01;
        delivered += w.onMessage(msg(seq, true)).length;
        w.nextDeadline();
        w.poll();
      }
    });
    expect(delivered).toBe(n + 1); // the repairs, then the held last one
    expect(w.missing).toBe(0);
    console.log(`16,382 repairs with nextDeadline()+poll() after each: ${work} Map/Set steps`);
    // linear: a few dozen steps per seq; a scan of the window per call would be ~10^8
    expect(work).toBeLessThan(100 * n);
  });

  test("16k missing seqs, many polls while nothing is due", () => {
    let t = 0;
    const w = new ReceiverWindow(0, { now: () => t, random: mulberry32(4) });
    w.onMessage(msg(16_383));
    t = w.nextDeadline() ?? 0;
    expect(w.poll().nack.length).toBe(1);
    const work = countWork(() => {
      for (let i = 0; i < 10_000; i++) {
        t += 0.001;
        expect(w.poll().nack).toEqual([]);
        w.nextDeadline();
      }
    });
    console.log(`10,000 idle polls with 16,383 seqs missing: ${work} Map/Set steps`);
    expect(work).toBeLessThan(10 * 10_000);
  });
});
