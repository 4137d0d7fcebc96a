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
 * - **NACKs** (SRM/PGM style), in **rounds**: a gap, or a tail ahead of what we have, is due
 *   after a random back-off (one draw per event): none in a room of 4 or fewer, else NORM's
 *   truncated exponential over [0, `nackBackoffMs`], scaled by the room size (backoff.ts),
 *   so that the first NACK the room hears suppresses nearly all others. When a round is due, every
 *   missing seq due within half a retry interval goes out with it as merged ranges, so a gap of
 *   any length costs O(1) NACK frames per round, and the seqs sent together stay together (one
 *   retry delay is drawn per round, not per seq). Hearing another member's NACK for our missing
 *   seqs moves them to a later round as if we had sent it (SRM suppression; one draw per heard
 *   NACK), so receivers that hear each other send about one NACK per round between them. After
 *   `maxRetries` attempts (ours or heard; a round after which repairs kept coming is not
 *   counted) a seq is declared lost; a GONE from the sender or
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
import { MAX_RANGES } from "../../protocol/constants.ts";
import { seqAdd, seqDiff, seqLess } from "../../protocol/seq.ts";
import type { KindRun, SeqRange } from "../../protocol/types.ts";
import { NO_BACKOFF_MAX_MEMBERS, suppressionBackoff } from "../backoff.ts";

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
  /**
   * N̂, the estimated room size (members, ourselves included), asked at each newly found gap:
   * the NACK back-off scales with it (backoff.ts). Default: a room of two (no back-off).
   */
  roomSize?(): number;
  /**
   * Longest back-off before the first NACK of a newly found gap, ms (T of backoff.ts).
   * Default 60: a few LAN round trips plus the spread of one datagram's arrival over the
   * room, so the first NACK is heard before most other timers run out; a lost line is still
   * repaired within ~0.1 s.
   */
  nackBackoffMs?: number;
  /**
   * Wait before asking again for the same seqs, ms; a random 0..50% is added (one draw per
   * round, shared by all its seqs). Default 150: one NACK + repair round trip on a LAN is ~1 ms,
   * so this is mostly the sender's queueing slack; it must stay above the Repairer's hold-off
   * (100 ms) or a receiver that lost the repair would be merged away when it asks again. Seqs
   * due within half of it are sent together (one round), but never sooner than `retryMs` after
   * their previous attempt.
   */
  retryMs?: number;
  /**
   * NACK attempts (ours, or another member's we heard) before a seq is declared lost. Default 20
   * (~3.7 s of trying, under the 6 s silence timeout): at 40% loss each way, one attempt
   * succeeds with p ≈ 0.36, so 20 attempts leave ~1e-4 of the gaps unrepaired.
   */
  maxRetries?: number;
  /**
   * Most seqs the window spans (held + missing + declared lost), 1..65535. Default 16384: about
   * 0.4 s of a 40k messages/s stream, so a gap is NACKed and repaired (a few round trips plus the
   * back-off and queueing) before the sender runs so far ahead that it would be forced out;
   * well above the sender's unacknowledged window (flow control).
   */
  maxPending?: number;
}

/**
 * A gap found in a room with a NACK back-off is not NACKed sooner than this even when another
 * round going out earlier could take it along: the datagram may only be late (reordered).
 * Rooms without a back-off NACK at once.
 */
export const NACK_REORDER_MS = 10;

/**
 * In a room without a NACK back-off, a gap found less than this after the previous new gap's
 * NACK waits for the end of this interval: gaps found one after the other (a sender's tails
 * while it runs ahead, fragments the hold budget could not keep, reordered datagrams of a fast
 * burst) share a NACK frame instead of costing one each. Seen in test/session/sim.test.ts's
 * 10,000-datagram gap: 121 NACK frames without this, 16 with it.
 */
export const FRESH_ROUNDS_APART_MS = 10;

export const WINDOW_DEFAULTS = {
  nackBackoffMs: 60,
  roomSize: 2,
  retryMs: 150,
  maxRetries: 20,
  maxPending: 16384,
} as const;

/**
 * One item of in-order output: a fragment to deliver, or seqs that will never be delivered
 * (`range.count` may exceed 65535 here, after a very long outage).
 */
export type Delivery<F extends { seq: number } = { seq: number }> =
  | { type: "frame"; frame: F }
  | { type: "lost"; range: SeqRange };

export interface PollResult<F extends { seq: number } = { seq: number }> {
  /** Ranges to NACK now in one NACK frame (≤ MAX_RANGES, merged, in seq order); may be empty. */
  nack: SeqRange[];
  /** Deliveries made possible by seqs declared lost after maxRetries. */
  out: Delivery<F>[];
}

export interface WindowStats {
  /** Fragments delivered. */
  delivered: number;
  /** Duplicates and stale fragments dropped (before `next`, already held, or declared lost). */
  duplicates: number;
  /** NACK frames asked for by poll(). */
  nacksSent: number;
  /** Missing seqs pushed back to a later round because another member NACKed them first. */
  suppressed: number;
  /** Seqs reported lost. */
  lost: number;
  /** Seqs passed over in silence: records of a kind this member does not read (PROTOCOL.md §12.5). */
  skipped: number;
}

/**
 * Missing seqs that are NACKed together: the seqs one event found missing (a gap, a tail), the
 * seqs NACKed in one poll, or the seqs one heard NACK pushed back. Few exist at a time, so the
 * next deadline is a scan over rounds, not over seqs.
 */
interface Round {
  /** When its seqs are NACKed. */
  due: number;
  /**
   * Not NACKed before this, even when an earlier round takes it along: the reorder allowance
   * for a new gap (NACK_REORDER_MS, at most its own back-off; none in a room without back-off),
   * `retryMs` after the previous attempt for a retry.
   */
  earliest: number;
  /** A heard NACK before this belongs to the same round as the last attempt: it changes nothing. */
  quietUntil: number;
  /** Missing seqs in it; the round is dropped at 0. */
  n: number;
}

type Missing = { s: "missing"; round: Round; tries: number };
type Slot<F> = { s: "held"; frame: F } | Missing | { s: "lost" } | { s: "skip" };

const LOST = { s: "lost" } as const;
/** A seq that holds a record of a kind we do not read: passed over without a word. */
const SKIP = { s: "skip" } as const;

/** Total seqs in the `lost` items of `out`. */
export function lostCount(out: readonly Delivery[]): number {
  let n = 0;
  for (const d of out) if (d.type === "lost") n += d.range.count;
  return n;
}

/**
 * `F` is what is delivered: a fragment with its `seq` (a RECORD's or a v1 MESSAGE's). Seqs that
 * hold records of a kind we do not read are passed over in silence (onSkip, hints): never NACKed,
 * never reported lost.
 */
export class ReceiverWindow<F extends { seq: number } = { seq: number }> {
  readonly stats: WindowStats = {
    delivered: 0,
    duplicates: 0,
    nacksSent: 0,
    suppressed: 0,
    lost: 0,
    skipped: 0,
  };
  private nextSeq: number;
  private high: number;
  /** Every seq in [next, high] has a slot; Map order is seq order (slots are only appended). */
  private readonly slots = new Map<number, Slot<F>>();
  private missingCount = 0;
  private heldCount = 0;
  /** Rounds with at least one missing seq. */
  private readonly rounds = new Set<Round>();
  /** The newest round of never-NACKed seqs: seqs found missing soon after may join it. */
  private fresh: Round | undefined;
  /** When the newest fresh round was due. */
  private lastFreshDue = Number.NEGATIVE_INFINITY;
  private deadline: number | undefined;
  private deadlineDirty = false;
  private readonly nackBackoffMs: number;
  private readonly retryMs: number;
  private readonly maxRetries: number;
  /**
   * Missing seqs that arrived (repaired), ever; and its value at the last round that NACKed.
   * A round after which repairs kept coming does not count as a try: a member far behind (back
   * after being cut off, in a big room that did not wait for it, PROTOCOL.md §13.3) is repaired
   * at the sender's per-member rate for as long as that takes, not given up on after
   * maxRetries rounds while the repairs are still flowing.
   */
  private filled = 0;
  private filledAtNack = 0;
  private readonly maxPending: number;

  constructor(
    base: number,
    private readonly opts: WindowOptions,
  ) {
    if (!Number.isInteger(base) || base < 0 || base > 0xffffffff) {
      throw new RangeError(`base must be a u32, got ${base}`);
    }
    this.nackBackoffMs = opts.nackBackoffMs ?? WINDOW_DEFAULTS.nackBackoffMs;
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
    return this.heldCount;
  }

  /**
   * A MESSAGE fragment of this instance (live or repair; not HISTORY answers, which come from
   * before `base`). Returns what is now deliverable, in order; [] for a duplicate or stale one.
   */
  onMessage(f: F): Delivery<F>[] {
    return this.arrive(f.seq, f);
  }

  /**
   * A fragment of a record of a kind we do not read arrived at `seq`: its seq is filled, in
   * silence (it holds nothing and delivers nothing).
   */
  onSkip(seq: number): Delivery<F>[] {
    return this.arrive(seq, undefined);
  }

  private arrive(seq: number, f: F | undefined): Delivery<F>[] {
    const out: Delivery<F>[] = [];
    if (seqDiff(seq, this.nextSeq) < 0) {
      this.stats.duplicates++;
      return out;
    }
    const slot = this.slots.get(seq);
    if (slot) {
      if (slot.s !== "missing") {
        this.stats.duplicates++;
        return out;
      }
      this.leave(slot);
      this.missingCount--;
      this.filled++;
      if (f) {
        this.slots.set(seq, { s: "held", frame: f });
        this.heldCount++;
      } else this.slots.set(seq, SKIP);
    } else {
      this.extendTo(seq, out, seq, f);
    }
    this.advance(out);
    return out;
  }

  /**
   * What the sender says of the seqs just before `before` (newest first): their record kinds
   * (PROTOCOL.md §12.5). Missing ones of a kind `unread` says we do not read are filled in
   * silence: they will never be NACKed or reported lost. Seqs we have, or outside the window,
   * are left alone.
   */
  onKinds(
    before: number,
    runs: readonly KindRun[],
    unread: (kind: number) => boolean,
  ): Delivery<F>[] {
    const out: Delivery<F>[] = [];
    if (this.missingCount === 0) return out;
    let seq = before;
    for (const r of runs) {
      for (let i = 0; i < r.count; i++) {
        seq = seqAdd(seq, -1);
        if (seqLess(seq, this.nextSeq)) return this.afterHints(out);
        if (!unread(r.kind)) continue;
        const slot = this.slots.get(seq);
        if (slot?.s !== "missing") continue;
        this.leave(slot);
        this.missingCount--;
        this.slots.set(seq, SKIP);
      }
    }
    return this.afterHints(out);
  }

  private afterHints(out: Delivery<F>[]): Delivery<F>[] {
    this.advance(out);
    return out;
  }

  /**
   * The sender's tail, from a HELLO/HEARTBEAT/BYE/GONE header (or a NACK it sent: its header
   * seq is its own tail too). Seqs after what we know, up to `tail`, are missing (tail loss).
   * Returns deliveries only if the window had to force old seqs out (maxPending).
   */
  onTail(tail: number): Delivery<F>[] {
    const out: Delivery<F>[] = [];
    if (seqLess(this.high, tail)) {
      this.extendTo(tail, out);
      this.advance(out);
    }
    return out;
  }

  /**
   * Another member NACKed these seqs of this sender: ours among them move to a later round, as
   * if we had sent the NACK (SRM suppression), and it counts as an attempt. One retry delay is
   * drawn per heard NACK, so the seqs stay in step and go out together next time. A NACK heard
   * within half a retry interval of our own attempt is the same round and changes nothing.
   */
  onNackHeard(ranges: readonly SeqRange[]): void {
    const now = this.opts.now();
    let later: Round | undefined;
    this.forEachSlotIn(ranges, (_seq, slot) => {
      if (slot.s !== "missing" || now < slot.round.quietUntil) return;
      this.stats.suppressed++;
      slot.tries++;
      later ??= this.retryRound(now);
      this.moveTo(slot, later);
    });
  }

  /**
   * GONE from the sender: these seqs are no longer repairable. Missing ones among them are
   * declared lost now. (Call `onTail(gone.seq)` first: the GONE header carries the tail.)
   */
  onGone(ranges: readonly SeqRange[]): Delivery<F>[] {
    const out: Delivery<F>[] = [];
    this.forEachSlotIn(ranges, (seq, slot) => {
      if (slot.s === "missing") this.declareLost(seq, slot);
    });
    this.advance(out);
    return out;
  }

  /**
   * The sender left (BYE, once its tail has been given a chance to be repaired) or timed out:
   * everything still missing is lost; held frames are delivered. The window stays usable:
   * if the instance turns out to be alive, later seqs are handled as usual.
   */
  giveUp(): Delivery<F>[] {
    const out: Delivery<F>[] = [];
    if (this.missingCount > 0) {
      for (const [seq, slot] of this.slots) if (slot.s === "missing") this.declareLost(seq, slot);
    }
    this.advance(out);
    return out;
  }

  /**
   * Timers, in rounds. When a round is due, every missing seq due within half a retry interval
   * (and past its `earliest`) goes out with it: one NACK of merged ranges, in seq order, at most
   * MAX_RANGES ranges (if more are due, `nextDeadline()` stays <= now: call again). Seqs that ran
   * out of retries are declared lost; what that makes deliverable is returned in `out`.
   * Cost: O(rounds) when nothing is due, else one pass over the window.
   */
  poll(): PollResult<F> {
    const now = this.opts.now();
    const out: Delivery<F>[] = [];
    const nack: SeqRange[] = [];
    const first = this.nextDeadline();
    if (first === undefined || first > now) return { nack, out };
    const slack = this.retryMs / 2;
    const going = new Set<Round>();
    for (const r of this.rounds) {
      if (r.due <= now || (r.due <= now + slack && r.earliest <= now)) going.add(r);
    }
    let retry: Round | undefined;
    let full = false;
    let left = this.missingCount;
    const progressing = this.filled !== this.filledAtNack;
    for (const [seq, slot] of this.slots) {
      if (left === 0) break;
      if (slot.s !== "missing") continue;
      left--;
      const r = slot.round;
      if (!going.has(r)) continue;
      if (slot.tries >= this.maxRetries) {
        if (r.due <= now) this.declareLost(seq, slot); // taken along early: wait for its own time
        continue;
      }
      if (full) continue;
      const last = nack[nack.length - 1];
      if (last && seqAdd(last.start, last.count) === seq && last.count < 0xffff) {
        last.count++;
      } else if (nack.length < MAX_RANGES) {
        nack.push({ start: seq, count: 1 });
      } else {
        full = true; // stays in its round; a due round keeps nextDeadline() <= now
        continue;
      }
      if (!progressing) slot.tries++;
      retry ??= this.retryRound(now);
      this.moveTo(slot, retry);
    }
    if (nack.length > 0) {
      this.stats.nacksSent++;
      this.filledAtNack = this.filled;
    }
    this.advance(out);
    return { nack, out };
  }

  /** Earliest time at which poll() has work, or undefined if none. Cost: O(rounds). */
  nextDeadline(): number | undefined {
    if (this.deadlineDirty) {
      let d: number | undefined;
      for (const r of this.rounds) if (d === undefined || r.due < d) d = r.due;
      this.deadline = d;
      this.deadlineDirty = false;
    }
    return this.deadline;
  }

  // ---- internals ----

  /** A new round for seqs NACKed (by us or another member) now. One random draw per round. */
  private retryRound(now: number): Round {
    const due = now + this.retryMs * (1 + 0.5 * this.opts.random());
    return this.addRound({ due, earliest: now + this.retryMs, quietUntil: now + this.retryMs / 2 });
  }

  /**
   * The round for seqs found missing now: the newest fresh one if still at least the reorder
   * allowance off, else a new one after a back-off drawn for the room's size (one draw).
   */
  private freshRound(now: number): Round {
    const roomSize = this.opts.roomSize?.() ?? WINDOW_DEFAULTS.roomSize;
    const allowance = roomSize > NO_BACKOFF_MAX_MEMBERS ? NACK_REORDER_MS : 0;
    const f = this.fresh;
    if (f && f.n > 0 && f.due - now >= allowance) {
      f.earliest = Math.max(f.earliest, now + allowance);
      return f;
    }
    const backoff = suppressionBackoff(this.opts.random, roomSize, this.nackBackoffMs);
    // Without a back-off, new gaps found one after the other (a sender's tails while it runs
    // ahead, fragments the hold budget could not keep) would each cost a NACK frame: they are
    // gathered into one round every FRESH_ROUNDS_APART_MS instead.
    const due =
      allowance > 0 ? now + backoff : Math.max(now, this.lastFreshDue + FRESH_ROUNDS_APART_MS);
    const earliest = now + Math.min(allowance, backoff);
    this.fresh = this.addRound({ due, earliest, quietUntil: -Infinity });
    this.lastFreshDue = due;
    return this.fresh;
  }

  private addRound(r: Omit<Round, "n">): Round {
    const round: Round = { ...r, n: 0 };
    this.rounds.add(round);
    if (!this.deadlineDirty && (this.deadline === undefined || round.due < this.deadline)) {
      this.deadline = round.due;
    }
    return round;
  }

  /** Takes a missing slot out of its round (dropping the round when it empties). */
  private leave(slot: Missing): void {
    const r = slot.round;
    if (--r.n > 0) return;
    this.rounds.delete(r);
    if (r === this.fresh) this.fresh = undefined;
    this.deadlineDirty = true;
  }

  private moveTo(slot: Missing, r: Round): void {
    this.leave(slot);
    slot.round = r;
    r.n++;
  }

  private declareLost(seq: number, slot: Missing): void {
    this.leave(slot);
    this.slots.set(seq, LOST);
    this.missingCount--;
  }

  /** Calls fn for each slot inside the given ranges (clipped to [next, high]). */
  private forEachSlotIn(
    ranges: readonly SeqRange[],
    fn: (seq: number, slot: Slot<F>) => void,
  ): void {
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
   * Makes `h` the highest known seq: new slots after the old highest are missing (all in one
   * fresh round), except the arriving seq `at`, which holds `arriving` (or is skipped when there
   * is no frame: a kind we do not read). Forces the oldest seqs out first if the span would
   * exceed maxPending.
   */
  private extendTo(h: number, out: Delivery<F>[], at?: number, arriving?: F): void {
    const newSpan = seqDiff(h, this.nextSeq) + 1;
    if (newSpan > this.maxPending) this.forceAdvance(seqAdd(h, 1 - this.maxPending), out);
    let s = seqAdd(this.high, 1);
    if (seqLess(s, this.nextSeq)) s = this.nextSeq;
    let round: Round | undefined;
    for (; seqDiff(h, s) >= 0; s = seqAdd(s, 1)) {
      if (s === at) {
        if (arriving) {
          this.slots.set(s, { s: "held", frame: arriving });
          this.heldCount++;
        } else this.slots.set(s, SKIP);
      } else {
        round ??= this.freshRound(this.opts.now());
        this.slots.set(s, { s: "missing", round, tries: 0 });
        round.n++;
        this.missingCount++;
      }
    }
    this.high = h;
  }

  /** Moves `next` to `to`, delivering held frames and reporting everything else as lost. */
  private forceAdvance(to: number, out: Delivery<F>[]): void {
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
        this.leave(slot);
        this.missingCount--;
      }
      this.pass(slot, out);
    }
  }

  /** Delivers or skips everything at `next` that is no longer waited for. */
  private advance(out: Delivery<F>[]): void {
    for (;;) {
      const slot = this.slots.get(this.nextSeq);
      if (!slot || slot.s === "missing") return;
      this.pass(slot, out);
    }
  }

  private pass(slot: Slot<F>, out: Delivery<F>[]): void {
    this.slots.delete(this.nextSeq);
    if (slot.s === "held") {
      out.push({ type: "frame", frame: slot.frame });
      this.heldCount--;
      this.stats.delivered++;
    } else if (slot.s === "skip") {
      this.stats.skipped++;
    } else {
      this.emitLost(this.nextSeq, 1, out);
    }
    this.nextSeq = seqAdd(this.nextSeq, 1);
  }

  private emitLost(start: number, count: number, out: Delivery<F>[]): void {
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
