/**
 * Receiver side of the reliability core: one `ReceiverWindow` per remote sender instance.
 * Pure: the clock and randomness are injected, there is no I/O and no timer. The caller feeds it
 * what it hears and calls `poll()` at `nextDeadline()`; it returns what to deliver and what to NACK.
 *
 * What it guarantees, per sender instance:
 * - Delivery is **exactly once and in order**: `out` lists come in strictly increasing seq order,
 *   across calls, each seq at most once, either as `{ type: "frame" }` or inside a
 *   `{ type: "lost" }` range. Out-of-order fragments are held until the gap before them is
 *   repaired or declared lost. Duplicates, late repairs and seqs before `base` are dropped.
 * - **Never a silent gap**: every seq from `base` up to the highest one known to exist (from a
 *   MESSAGE, or from a HELLO/HEARTBEAT/BYE/GONE tail) ends up delivered or reported lost.
 * - **NACKs** (SRM/PGM style): a gap, or a tail ahead of what we have, arms a timer at a random
 *   back-off (`nackDelayMs`); seqs found missing by the same event share one timer, so one loss
 *   burst costs one NACK. Hearing another member's NACK for the same seqs before our timer fires
 *   suppresses ours: the timer is pushed back to a retry as if we had sent it. After
 *   `maxRetries` attempts (ours or heard) the seq is declared lost; a GONE from the sender or
 *   `giveUp()` (the sender left or timed out) declares missing seqs lost at once.
 * - **Bounded memory**: the window spans at most `maxPending` seqs (held frames + missing +
 *   declared-lost); if a sender runs further ahead, the oldest seqs are forced out (held frames
 *   delivered, the rest reported lost), in order.
 *
 * Units: `lost` counts sequence numbers, i.e. fragments. A lost fragment makes its whole message
 * undeliverable; the reassembler must drop a partial message when it meets a `lost` item.
 *
 * Where a window starts (`base`) is decided by `startPoint()` below (PROTOCOL.md §5.1).
 */
import { MAX_RANGES } from "../protocol/constants.ts";
import { seqAdd, seqDiff, seqLess } from "../protocol/seq.ts";
import type { MessageFrame, SeqRange } from "../protocol/types.ts";

// ---- where to start -------------------------------------------------------------------------

/**
 * How long a receiver may hold the MESSAGE fragments of an instance it has no HELLO/HEARTBEAT/BYE
 * from yet, before falling back to "late joiner" (rule 2). A sender heartbeats 100 ms after any
 * send, then at 200, 300, 400, 600, 1000 ms: this covers five or six of them (so even at 40% loss
 * the fallback is rare) while keeping the worst-case display delay at one second.
 */
export const START_HOLD_MS = 1000;

export interface StartInput {
  /** Our own instance's start time (ms since the epoch, our clock). */
  joinedAt: number;
  /** From the first HELLO/HEARTBEAT/BYE heard from the instance, if any. */
  presence?: { started: number; tail: number };
  /**
   * `seq - fragIndex` of the earliest (circularly) *live* fragment heard from the instance so far
   * (REPAIR and HISTORY fragments carry old data and must not be used), if any.
   */
  firstHeard?: number;
  /** The START_HOLD_MS hold on `firstHeard` has run out without any presence frame. */
  holdExpired?: boolean;
  /**
   * Clock skew allowance: `started >= joinedAt - slackMs` counts as "started after we joined".
   * Errs toward NACKing a few pre-join messages rather than silently missing first messages.
   * Default 0 (trust synchronised clocks).
   */
  slackMs?: number;
}

/**
 * The first seq to deliver from a sender instance (PROTOCOL.md §5.1), or `undefined` when it
 * cannot be decided yet: hold the instance's fragments (at most START_HOLD_MS, bounded in
 * number) and ask again when a presence frame arrives or the hold expires.
 *
 * 1. `started >= joinedAt`: we saw the instance's whole life; instances start at seq 0, so 0.
 * 2. `started < joinedAt` (we are the late joiner): `tail + 1`, or `firstHeard` if earlier; no
 *    NACK for anything before.
 * 3. No presence yet: 0 if the first fragment heard is seq 0 (both rules agree); after the hold,
 *    `firstHeard`; otherwise undefined.
 */
export function startPoint(i: StartInput): number | undefined {
  const { presence, firstHeard } = i;
  if (presence) {
    if (presence.started >= i.joinedAt - (i.slackMs ?? 0)) return 0;
    const afterTail = seqAdd(presence.tail, 1);
    return firstHeard !== undefined && seqLess(firstHeard, afterTail) ? firstHeard : afterTail;
  }
  if (firstHeard === undefined) return undefined;
  if (firstHeard === 0 || i.holdExpired) return firstHeard;
  return undefined;
}

// ---- the window -----------------------------------------------------------------------------

export interface WindowOptions {
  /** Clock, ms. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
  /** Random back-off before the first NACK of a newly found gap, ms. Default [10, 60]. */
  nackDelayMs?: [min: number, max: number];
  /**
   * Wait before asking again for the same seqs, ms; a random 0..50% is added. Default 150: one
   * NACK + repair round trip on a LAN is ~1 ms, so this is mostly the sender's queueing slack; it
   * must stay above the Repairer's hold-off (100 ms) or a receiver that lost the repair would be
   * merged away when it asks again.
   */
  retryMs?: number;
  /**
   * NACK attempts (ours, or another member's we heard) before a seq is declared lost. Default 20
   * (~3.7 s of trying, under the 6 s silence timeout): at 40% loss each way, one attempt
   * succeeds with p ≈ 0.36, so 20 attempts leave ~1e-4 of the gaps unrepaired.
   */
  maxRetries?: number;
  /** Most seqs the window spans (held + missing + declared lost), 1..65535. Default 4096. */
  maxPending?: number;
}

export const WINDOW_DEFAULTS = {
  nackDelayMs: [10, 60] as [number, number],
  retryMs: 150,
  maxRetries: 20,
  maxPending: 4096,
} as const;

/**
 * One item of in-order output: a fragment to deliver, or seqs that will never be delivered
 * (`range.count` may exceed 65535 here, after a very long outage).
 */
export type Delivery = { type: "frame"; frame: MessageFrame } | { type: "lost"; range: SeqRange };

export interface PollResult {
  /** Ranges to NACK now in one NACK frame (≤ MAX_RANGES, merged, in seq order); may be empty. */
  nack: SeqRange[];
  /** Deliveries made possible by seqs declared lost after maxRetries. */
  out: Delivery[];
}

export interface WindowStats {
  /** Fragments delivered. */
  delivered: number;
  /** Duplicates and stale fragments dropped (before `next`, already held, or declared lost). */
  duplicates: number;
  /** NACK frames asked for by poll(). */
  nacksSent: number;
  /** Seq timers pushed back because another member NACKed them first. */
  suppressed: number;
  /** Seqs reported lost. */
  lost: number;
}

type Slot =
  | { s: "held"; frame: MessageFrame }
  | { s: "missing"; due: number; tries: number; quietUntil: number }
  | { s: "lost" };

/** Total seqs in the `lost` items of `out`. */
export function lostCount(out: readonly Delivery[]): number {
  let n = 0;
  for (const d of out) if (d.type === "lost") n += d.range.count;
  return n;
}

export class ReceiverWindow {
  readonly stats: WindowStats = {
    delivered: 0,
    duplicates: 0,
    nacksSent: 0,
    suppressed: 0,
    lost: 0,
  };
  private nextSeq: number;
  private high: number;
  /** Every seq in [next, high] has a slot; Map order is seq order (slots are only appended). */
  private readonly slots = new Map<number, Slot>();
  private missingCount = 0;
  private deadline: number | undefined;
  private deadlineDirty = false;
  private readonly nackMin: number;
  private readonly nackMax: number;
  private readonly retryMs: number;
  private readonly maxRetries: number;
  private readonly maxPending: number;

  constructor(
    base: number,
    private readonly opts: WindowOptions,
  ) {
    if (!Number.isInteger(base) || base < 0 || base > 0xffffffff) {
      throw new RangeError(`base must be a u32, got ${base}`);
    }
    [this.nackMin, this.nackMax] = opts.nackDelayMs ?? WINDOW_DEFAULTS.nackDelayMs;
    this.retryMs = opts.retryMs ?? WINDOW_DEFAULTS.retryMs;
    this.maxRetries = opts.maxRetries ?? WINDOW_DEFAULTS.maxRetries;
    this.maxPending = opts.maxPending ?? WINDOW_DEFAULTS.maxPending;
    if (!(this.maxPending >= 1 && this.maxPending <= 0xffff)) {
      throw new RangeError(`maxPending must be in 1..65535, got ${this.maxPending}`);
    }
    this.nextSeq = base;
    this.high = seqAdd(base, -1);
  }

  /** The next seq to deliver: everything before it was delivered or reported lost. */
  get next(): number {
    return this.nextSeq;
  }

  /** The highest seq known to exist (`next - 1` when nothing is pending). */
  get highest(): number {
    return this.high;
  }

  /** Seqs still missing (being NACKed). 0 means nothing is outstanding. */
  get missing(): number {
    return this.missingCount;
  }

  /** Fragments held out of order. */
  get held(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.s === "held") n++;
    return n;
  }

  /**
   * A MESSAGE fragment of this instance (live or repair; not HISTORY answers, which come from
   * before `base`). Returns what is now deliverable, in order; [] for a duplicate or stale one.
   */
  onMessage(f: MessageFrame): Delivery[] {
    const out: Delivery[] = [];
    if (seqDiff(f.seq, this.nextSeq) < 0) {
      this.stats.duplicates++;
      return out;
    }
    const slot = this.slots.get(f.seq);
    if (slot) {
      if (slot.s !== "missing") {
        this.stats.duplicates++;
        return out;
      }
      this.missingCount--;
      this.deadlineDirty = true;
      this.slots.set(f.seq, { s: "held", frame: f });
    } else {
      this.extendTo(f.seq, out, f);
    }
    this.advance(out);
    return out;
  }

  /**
   * The sender's tail, from a HELLO/HEARTBEAT/BYE/GONE header (or a NACK it sent: its header
   * seq is its own tail too). Seqs after what we know, up to `tail`, are missing (tail loss).
   * Returns deliveries only if the window had to force old seqs out (maxPending).
   */
  onTail(tail: number): Delivery[] {
    const out: Delivery[] = [];
    if (seqLess(this.high, tail)) {
      this.extendTo(tail, out);
      this.advance(out);
    }
    return out;
  }

  /**
   * Another member NACKed these seqs of this sender: our own pending NACK timers for them are
   * pushed back to a retry, as if we had sent the NACK (SRM suppression). A NACK heard within
   * half a retry interval of our own attempt is the same round and changes nothing.
   */
  onNackHeard(ranges: readonly SeqRange[]): void {
    const now = this.opts.now();
    this.forEachSlotIn(ranges, (_seq, slot) => {
      if (slot.s !== "missing" || now < slot.quietUntil) return;
      this.stats.suppressed++;
      this.attempted(slot, now);
    });
  }

  /**
   * GONE from the sender: these seqs are no longer repairable. Missing ones among them are
   * declared lost now. (Call `onTail(gone.seq)` first: the GONE header carries the tail.)
   */
  onGone(ranges: readonly SeqRange[]): Delivery[] {
    const out: Delivery[] = [];
    this.forEachSlotIn(ranges, (seq, slot) => {
      if (slot.s === "missing") this.declareLost(seq);
    });
    this.advance(out);
    return out;
  }

  /**
   * The sender left (BYE, once its tail has been given a chance to be repaired) or timed out:
   * everything still missing is lost; held fragments are delivered. The window stays usable:
   * if the instance turns out to be alive, later seqs are handled as usual.
   */
  giveUp(): Delivery[] {
    const out: Delivery[] = [];
    for (const [seq, slot] of this.slots) if (slot.s === "missing") this.declareLost(seq);
    this.advance(out);
    return out;
  }

  /**
   * Timers. Returns the ranges to NACK now (the seqs whose back-off or retry is due, at most
   * MAX_RANGES ranges; if more are due, `nextDeadline()` stays <= now: call again), and what
   * became deliverable because seqs ran out of retries and were declared lost.
   */
  poll(): PollResult {
    const now = this.opts.now();
    const out: Delivery[] = [];
    const nack: SeqRange[] = [];
    if (this.missingCount === 0) return { nack, out };
    const retry = this.retryDelay();
    for (const [seq, slot] of this.slots) {
      if (slot.s !== "missing" || slot.due > now) continue;
      if (slot.tries >= this.maxRetries) {
        this.declareLost(seq);
        continue;
      }
      const last = nack[nack.length - 1];
      if (last && seqAdd(last.start, last.count) === seq && last.count < 0xffff) {
        last.count++;
      } else if (nack.length < MAX_RANGES) {
        nack.push({ start: seq, count: 1 });
      } else {
        continue; // stays due; the next poll sends it
      }
      this.attempted(slot, now, retry);
    }
    if (nack.length > 0) this.stats.nacksSent++;
    this.deadlineDirty = true;
    this.advance(out);
    return { nack, out };
  }

  /** Earliest time at which poll() has work, or undefined if none. */
  nextDeadline(): number | undefined {
    if (this.deadlineDirty) {
      let d: number | undefined;
      if (this.missingCount > 0) {
        for (const slot of this.slots.values()) {
          if (slot.s === "missing" && (d === undefined || slot.due < d)) d = slot.due;
        }
      }
      this.deadline = d;
      this.deadlineDirty = false;
    }
    return this.deadline;
  }

  // ---- internals ----

  private retryDelay(): number {
    return this.retryMs * (1 + 0.5 * this.opts.random());
  }

  /** A NACK for this slot went out (ours) or was heard (someone else's). */
  private attempted(slot: Slot & { s: "missing" }, now: number, delay = this.retryDelay()): void {
    slot.tries++;
    slot.due = now + delay;
    slot.quietUntil = now + this.retryMs / 2;
    this.deadlineDirty = true;
  }

  private declareLost(seq: number): void {
    this.slots.set(seq, { s: "lost" });
    this.missingCount--;
    this.deadlineDirty = true;
  }

  /** Calls fn for each slot inside the given ranges (clipped to [next, high]). */
  private forEachSlotIn(ranges: readonly SeqRange[], fn: (seq: number, slot: Slot) => void): void {
    const span = seqDiff(this.high, this.nextSeq) + 1;
    if (span <= 0) return;
    for (const r of ranges) {
      const from = Math.max(0, seqDiff(r.start, this.nextSeq));
      const to = Math.min(span - 1, seqDiff(r.start, this.nextSeq) + r.count - 1);
      for (let i = from; i <= to; i++) {
        const seq = seqAdd(this.nextSeq, i);
        const slot = this.slots.get(seq);
        if (slot) fn(seq, slot);
      }
    }
  }

  /**
   * Makes `h` the highest known seq: new slots after the old highest are missing (sharing one
   * NACK timer), except `arriving`'s own seq which is held. Forces the oldest seqs out first if
   * the span would exceed maxPending.
   */
  private extendTo(h: number, out: Delivery[], arriving?: MessageFrame): void {
    const newSpan = seqDiff(h, this.nextSeq) + 1;
    if (newSpan > this.maxPending) this.forceAdvance(seqAdd(h, 1 - this.maxPending), out);
    let s = seqAdd(this.high, 1);
    if (seqLess(s, this.nextSeq)) s = this.nextSeq;
    const now = this.opts.now();
    const due = now + this.nackMin + (this.nackMax - this.nackMin) * this.opts.random();
    // One timer object per slot (retries diverge), created with the same due time.
    for (; seqDiff(h, s) >= 0; s = seqAdd(s, 1)) {
      if (arriving && s === arriving.seq) {
        this.slots.set(s, { s: "held", frame: arriving });
      } else {
        this.slots.set(s, { s: "missing", due, tries: 0, quietUntil: 0 });
        this.missingCount++;
        this.deadlineDirty = true;
      }
    }
    this.high = h;
  }

  /** Moves `next` to `to`, delivering held frames and reporting everything else as lost. */
  private forceAdvance(to: number, out: Delivery[]): void {
    while (seqLess(this.nextSeq, to)) {
      const slot = this.slots.get(this.nextSeq);
      if (!slot) {
        // Beyond the known highest: never heard of at all; count them in one go.
        const n = seqDiff(to, this.nextSeq);
        this.emitLost(this.nextSeq, n, out);
        this.nextSeq = to;
        this.high = seqAdd(to, -1);
        return;
      }
      if (slot.s === "missing") {
        this.missingCount--;
        this.deadlineDirty = true;
      }
      this.pass(slot, out);
    }
  }

  /** Delivers or skips everything at `next` that is no longer waited for. */
  private advance(out: Delivery[]): void {
    for (;;) {
      const slot = this.slots.get(this.nextSeq);
      if (!slot || slot.s === "missing") return;
      this.pass(slot, out);
    }
  }

  private pass(slot: Slot, out: Delivery[]): void {
    this.slots.delete(this.nextSeq);
    if (slot.s === "held") {
      out.push({ type: "frame", frame: slot.frame });
      this.stats.delivered++;
    } else {
      this.emitLost(this.nextSeq, 1, out);
    }
    this.nextSeq = seqAdd(this.nextSeq, 1);
  }

  private emitLost(start: number, count: number, out: Delivery[]): void {
    if (count <= 0) return;
    this.stats.lost += count;
    const last = out[out.length - 1];
    if (last?.type === "lost" && seqAdd(last.range.start, last.range.count) === start) {
      last.range.count += count;
    } else {
      out.push({ type: "lost", range: { start, count } });
    }
  }
}
