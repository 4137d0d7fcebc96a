/**
 * Sender side: answers NACKs for our own seqs from the RepairBuffer. Pure: clock injected, no
 * I/O, no timers; the caller sends what `poll()` returns and calls it again at `nextDeadline()`.
 *
 * - **Merging**: NACKed seqs are queued once (a seq already queued is not queued again), and a
 *   seq repaired less than `holdoffMs` ago is not repaired again: the NACKs that several
 *   receivers send for the same loss (within their random back-off window) cost one repair,
 *   however many there are (one repair per seq per round, in a room of any size). The
 *   hold-off is shorter than a receiver's retry interval, so a receiver that also lost the repair
 *   gets another when it asks again.
 * - **Rate limit**: a token bucket (`ratePerSec`, `burst`) on repairs, so a loss storm does not
 *   turn into a repair flood that overruns the receivers' socket buffers and causes more loss.
 *   Queued seqs are answered oldest-queued first.
 * - **GONE**: asked seqs we sent but no longer hold are answered with GONE ranges (merged, at most
 *   MAX_RANGES per frame; `poll()` returns at most one frame's worth). Seqs never sent are ignored.
 * - **Bounded**: at most `maxQueue` queued seqs and `maxGoneRanges` pending GONE ranges; excess
 *   asks are dropped (counted) — receivers ask again.
 */
import { MAX_RANGES } from "../../protocol/constants.ts";
import { seqAdd, seqDiff } from "../../protocol/seq.ts";
import type { SeqRange } from "../../protocol/types.ts";
import type { RepairBuffer, StreamFrame } from "./repair-buffer.ts";

export interface RepairerOptions {
  /** Clock, ms. */
  now(): number;
  /** A seq repaired within this many ms is not repaired again. Default 100. */
  holdoffMs?: number;
  /**
   * Sustained repairs per second. Default 10,000: flow control already bounds what can be
   * outstanding (one window), so this only spreads a window's worth of repairs over ~0.2 s
   * instead of one burst.
   */
  ratePerSec?: number;
  /** Token bucket size: repairs that may go out back to back. Default 256. */
  burst?: number;
  /** Queued seqs, at most (the repair buffer's size). Default 16,384. */
  maxQueue?: number;
  /** Pending GONE ranges, at most. Default 256. */
  maxGoneRanges?: number;
  /**
   * Repairs one requester may queue per second (token bucket of the same size). Default
   * 2,048: one flow-control window a second. A NACK for 32 ranges of 65,535 seqs asks for 2
   * million; this is what it gets, at most, however many NACKs it sends.
   */
  perRequesterPerSec?: number;
}

/**
 * Requesters whose budgets are remembered, at most: a room of 4,096 members (each entry is an
 * instance id and two numbers, ~100 bytes: ~0.4 MB at most). Past it the oldest-made budget is
 * forgotten (counted in `stats.forgotten`): that member, if it asks again, starts over with a
 * full budget, so in a room bigger than this a member may get up to one extra second's budget
 * of repairs; the global rate limit and the queue bound hold regardless.
 */
export const MAX_REQUESTERS = 4096;

export const REPAIRER_DEFAULTS = {
  holdoffMs: 100,
  ratePerSec: 10_000,
  burst: 256,
  maxQueue: 16384,
  maxGoneRanges: 256,
  perRequesterPerSec: 2048,
} as const;

/** Float slack on the token count: 0.9999999999 tokens is a whole token. */
const TOKEN_EPSILON = 1e-6;

export interface RepairerStats {
  /** NACK frames for our seqs handled. */
  nacks: number;
  /** Repairs handed out by poll(). */
  repairs: number;
  /** Asked seqs not queued: already queued, or repaired within the hold-off. */
  merged: number;
  /** GONE frames handed out by poll(). */
  gone: number;
  /** Asks dropped because the queue was full. */
  dropped: number;
  /** Asks refused because the requester's budget was spent. */
  refused: number;
  /** Requesters' budgets forgotten to make room for new ones (past MAX_REQUESTERS). */
  forgotten: number;
}

export interface RepairerPoll<F extends StreamFrame = StreamFrame> {
  /** Copies of buffered fragments with `repair: true` (and `history: false`), to send now. */
  repairs: F[];
  /** Ranges for one GONE frame (≤ MAX_RANGES), or [] for none. */
  gone: SeqRange[];
}

export class Repairer<F extends StreamFrame = StreamFrame> {
  readonly stats: RepairerStats = {
    nacks: 0,
    repairs: 0,
    merged: 0,
    gone: 0,
    dropped: 0,
    refused: 0,
    forgotten: 0,
  };
  /** Per requester: repair tokens and when they were last refilled. */
  private readonly budgets = new Map<string, { tokens: number; at: number }>();
  private readonly holdoffMs: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxQueue: number;
  private readonly maxGoneRanges: number;
  /** Queued seqs, in queue order. */
  private readonly queue = new Set<number>();
  /** seq -> time repaired; Map order is time order (entries are re-inserted when refreshed). */
  private readonly recentlyRepaired = new Map<number, number>();
  private goneRanges: SeqRange[] = [];
  private tokens: number;
  private tokensAt: number;

  constructor(
    private readonly buffer: RepairBuffer<F>,
    private readonly opts: RepairerOptions,
  ) {
    this.holdoffMs = opts.holdoffMs ?? REPAIRER_DEFAULTS.holdoffMs;
    this.rate = opts.ratePerSec ?? REPAIRER_DEFAULTS.ratePerSec;
    this.burst = opts.burst ?? REPAIRER_DEFAULTS.burst;
    this.maxQueue = opts.maxQueue ?? REPAIRER_DEFAULTS.maxQueue;
    this.maxGoneRanges = opts.maxGoneRanges ?? REPAIRER_DEFAULTS.maxGoneRanges;
    if (!(this.rate > 0) || !(this.burst >= 1)) {
      throw new RangeError("Repairer: ratePerSec must be > 0 and burst >= 1");
    }
    this.tokens = this.burst;
    this.tokensAt = opts.now();
  }

  /** Seqs waiting for a repair. */
  get queued(): number {
    return this.queue.size;
  }

  /**
   * A NACK addressed to us (its `target` is our instance id) asks for these ranges, from
   * `requester` (an instance id; its budget applies when given). Seqs up to `floor` are not
   * repaired (sent before the requester could have heard them).
   */
  onNack(ranges: readonly SeqRange[], requester?: string, floor?: number): void {
    this.stats.nacks++;
    const now = this.opts.now();
    this.pruneRecent(now);
    // The budget is checked before any work: a requester is examined for at most as many seqs
    // as it may still have queued (and nobody for more than the queue holds), however many
    // the NACK asks for. What it asks beyond that is refused (or dropped) uncounted one by one.
    const budget = requester === undefined ? undefined : this.budgetOf(requester, now);
    const limit = Math.min(
      this.maxQueue,
      budget ? Math.max(0, Math.floor(budget.tokens + TOKEN_EPSILON)) : this.maxQueue,
    );
    const { held, gone, unexamined } = this.buffer.classify(ranges, limit);
    if (budget) this.stats.refused += unexamined;
    else this.stats.dropped += unexamined;
    for (const seq of held) {
      if (floor !== undefined && seqDiff(seq, floor) <= 0) {
        this.stats.refused++; // sent before the requester could have been listening
      } else if (this.queue.has(seq) || this.recentlyRepaired.has(seq)) {
        this.stats.merged++;
      } else if (this.queue.size >= this.maxQueue) {
        this.stats.dropped++;
      } else if (budget && budget.tokens < 1 - TOKEN_EPSILON) {
        this.stats.refused++;
      } else {
        if (budget) budget.tokens--;
        this.queue.add(seq);
      }
    }
    for (const r of gone) this.addGone(r);
  }

  /** The requester's token bucket, refilled to now. */
  private budgetOf(requester: string, now: number): { tokens: number; at: number } {
    const rate = this.opts.perRequesterPerSec ?? REPAIRER_DEFAULTS.perRequesterPerSec;
    let b = this.budgets.get(requester);
    if (!b) {
      if (this.budgets.size >= MAX_REQUESTERS) {
        this.budgets.delete(this.budgets.keys().next().value as string);
        this.stats.forgotten++;
      }
      b = { tokens: rate, at: now };
      this.budgets.set(requester, b);
    } else {
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    }
    return b;
  }

  /** Repairs and GONE ranges to send now. */
  poll(): RepairerPoll<F> {
    const now = this.opts.now();
    this.refill(now);
    this.pruneRecent(now);
    const repairs: F[] = [];
    for (const seq of this.queue) {
      if (this.tokens < 1 - TOKEN_EPSILON) break;
      this.queue.delete(seq);
      const f = this.buffer.get(seq);
      if (!f) {
        // Evicted while queued: now it is gone.
        this.addGone({ start: seq, count: 1 });
        continue;
      }
      repairs.push({ ...f, repair: true, history: false });
      this.tokens--;
      this.recentlyRepaired.delete(seq);
      this.recentlyRepaired.set(seq, now);
    }
    this.stats.repairs += repairs.length;
    const gone = this.goneRanges.splice(0, MAX_RANGES);
    if (gone.length > 0) this.stats.gone++;
    return { repairs, gone };
  }

  /** Earliest time poll() has work, or undefined. */
  nextDeadline(): number | undefined {
    const now = this.opts.now();
    if (this.goneRanges.length > 0) return now;
    if (this.queue.size === 0) return undefined;
    this.refill(now);
    // With the epsilon, a deadline in the future always refills a whole token: `now + wait` can
    // never round back to `now` (which would make the caller spin).
    if (this.tokens >= 1 - TOKEN_EPSILON) return now;
    return now + Math.max(((1 - this.tokens) * 1000) / this.rate, 0.001);
  }

  private refill(now: number): void {
    if (now > this.tokensAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) * this.rate) / 1000);
    }
    this.tokensAt = now;
  }

  private pruneRecent(now: number): void {
    for (const [seq, t] of this.recentlyRepaired) {
      if (now - t < this.holdoffMs) break;
      this.recentlyRepaired.delete(seq);
    }
  }

  /** Adds a GONE range, merging with an overlapping or adjacent pending one. */
  private addGone(r: SeqRange): void {
    for (const g of this.goneRanges) {
      const a = seqDiff(r.start, g.start);
      // r starts inside g or right after it
      if (a >= 0 && a <= g.count) {
        const end = Math.max(g.count, a + r.count);
        if (end <= 0xffff) {
          g.count = end;
          return;
        }
      }
      // r ends inside g or right before it
      const b = seqDiff(g.start, r.start);
      if (b >= 0 && b <= r.count) {
        const end = Math.max(r.count, b + g.count);
        if (end <= 0xffff) {
          g.start = r.start;
          g.count = end;
          return;
        }
      }
    }
    if (this.goneRanges.length >= this.maxGoneRanges) {
      this.stats.dropped += r.count;
      return;
    }
    this.goneRanges.push({ start: r.start, count: r.count });
  }
}

/** Ranges covering the given seqs (in the order given, consecutive runs merged). */
export function toRanges(seqs: Iterable<number>): SeqRange[] {
  const out: SeqRange[] = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && seqAdd(last.start, last.count) === s && last.count < 0xffff) last.count++;
    else out.push({ start: s, count: 1 });
  }
  return out;
}
