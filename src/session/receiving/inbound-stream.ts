/**
 * One stream of one remote sender as we receive it (PROTOCOL.md §5, §12): where it starts for
 * us, ordered and repaired delivery (ReceiverWindow), records of kinds we do not read passed
 * over in silence, and reassembly of fragments into records. Pure: the clock is injected.
 */
import { seqAdd, seqDiff } from "../../protocol/seq.ts";
import type { KindRun, SeqRange } from "../../protocol/types.ts";
import { HoldBudget } from "./hold-budget.ts";
import {
  type Delivery,
  ReceiverWindow,
  START_HOLD_MS,
  startPoint,
  type WindowOptions,
} from "./receiver-window.ts";

/** One fragment of a record, as the wire carried it (a v1.1 RECORD or a 0.2 member's MESSAGE). */
export interface Fragment {
  seq: number;
  /** Record kind (a 0.2 member's MESSAGE: TEXT). */
  kind: number;
  fragIndex: number;
  fragCount: number;
  /** A retransmission (REPAIR flag): old data, never a start point. */
  repair: boolean;
  /** This fragment's piece of the record's body (a v1 MESSAGE: its piece of the text). */
  payload: Uint8Array;
  /** A v1 MESSAGE's own fields (a 0.2 member): the body is the text alone. */
  v1?: { nick: string; time: number; action: boolean };
}

/** One item of a stream's in-order output: a whole record, or seqs lost at that point. */
export type InboundItem =
  | { type: "record"; kind: number; seq: number; parts: Fragment[] }
  | {
      type: "lost";
      /** First lost seq of the gap. */
      seq: number;
      /** Datagrams (fragments) lost. */
      count: number;
      /** Records lost with them, at most (exact for one-fragment records). */
      messages: number;
    };

export interface InboundClock {
  /** Monotonic ms (the session's scheduler). */
  now(): number;
  random(): number;
  /** Shared by all streams of a session. */
  budget: HoldBudget;
  /** When this session joined (monotonic ms): instances started before it are not back-filled. */
  joinedAt: number;
  window?: Omit<WindowOptions, "now" | "random">;
}

/** Live fragments held while the start point is undecided, at most. */
const MAX_HELD_BEFORE_START = 4096;
/**
 * A sender we have no record from yet in this stream (only presence frames) can announce a tail
 * at most this far beyond what we have delivered or given up on: a made-up instance announcing
 * tail 4,095 (or 2^31) must not make us hold thousands of missing slots and NACK them. A real
 * sender proves itself with its first record (or its first repair), and its later tails are
 * believed in full.
 */
export const UNPROVEN_TAIL_SPAN = 64;
/**
 * A proven sender's announced tail (HEARTBEAT header, PRESENCE STREAM option, a v1 NACK's or
 * GONE's header) is acted on at most this far beyond the highest seq we know of: a tail that
 * jumps by 2^31 must not make us declare two billion seqs lost, allocate a full window of
 * missing slots and NACK it in one go. Two flow-control windows (2 x 2,048 fragments): a member
 * that reports never sees a sender further ahead than one window, and a lagging one hears the
 * sender's live records, which are not claims. The rest of a longer jump is believed as later
 * tails (each heartbeat, or every 25 ms while the sender waits on its window) or records come.
 */
export const MAX_TAIL_LEAD = 4096;
/** A record whose fragments stopped arriving (no gap is known) is dropped after this (ms). */
export const PARTIAL_IDLE_MS = 30_000;

export class InboundStream {
  private window?: ReceiverWindow<Fragment>;
  /** From the sender's first presence frame: when it started (our clock) and this stream's tail. */
  private presence?: { started: number; tail: number };
  private firstHeard?: number;
  private holdUntil?: number;
  private held: Fragment[] = [];
  private partial: Fragment[] = [];
  private partialAt = 0;
  /** A record (live or repair) was received in this stream: its announced tails are believed. */
  private proven = false;
  /** Fragments of ours counted in the budget. */
  private accounted = 0;
  /**
   * Every seq before this has been delivered and its event consumed by the output (or lost,
   * or skipped): what a REPORT says (output is part of flow control; reports.ts moves it).
   * Undefined until the output has consumed the stream's first mark.
   */
  consumedNext: number | undefined;

  constructor(
    readonly stream: number,
    private readonly clock: InboundClock,
    /** Whether we read records of this kind; the others are skipped in silence. */
    private readonly reads: (kind: number) => boolean,
  ) {}

  /** Gives its share of the hold budget back (the sender is forgotten). */
  release(): void {
    this.clock.budget.used -= this.accounted;
    this.accounted = 0;
  }

  /** Fragments still missing (0 when nothing is owed). */
  get missing(): number {
    return this.window?.missing ?? 0;
  }

  get windowStats() {
    return this.window?.stats;
  }

  /** Every seq before this was delivered, skipped or reported lost (undefined before start). */
  get next(): number | undefined {
    return this.window?.next;
  }

  /** Where the window started (its first seq), once a start point is known. */
  base: number | undefined;

  /**
   * The sender's presence (HELLO/HEARTBEAT/BYE or PRESENCE): the instance's age (ms since it
   * started, its own monotonic clock) and this stream's tail, with the kinds of the seqs up to it.
   * Its start is estimated on our clock as now - age at the first one heard: delays only make it
   * later (PROTOCOL.md §5.1), and no wall clocks are compared.
   */
  onPresence(started: number, tail: number, runs: readonly KindRun[] = []): InboundItem[] {
    this.presence ??= { started, tail };
    const out: Delivery<Fragment>[] = [];
    this.tryStart(out);
    if (this.window) {
      out.push(...this.window.onTail(this.believable(tail)));
      if (runs.length > 0) out.push(...this.window.onKinds(seqAdd(tail, 1), runs, this.unread));
    }
    return this.assemble(out);
  }

  private readonly unread = (kind: number) => !this.reads(kind);

  /** A fragment of this stream (live or repair; history answers never come here). */
  onFragment(f: Fragment, runs: readonly KindRun[] = []): InboundItem[] {
    const out: Delivery<Fragment>[] = [];
    this.proven = true;
    const w = this.window;
    if (w) {
      // A fragment that cannot be delivered now would be held: only within the budget.
      if (!this.reads(f.kind)) {
        out.push(...w.onSkip(f.seq));
        // Its earlier fragments are of its kind too (§12.5), runs or not.
        const before = Math.min(f.fragIndex, 255);
        if (before > 0)
          out.push(...w.onKinds(f.seq, [{ kind: f.kind, count: before }], this.unread));
      } else if (f.seq === w.next || this.mayHold()) out.push(...w.onMessage(f));
      else this.clock.budget.refused++;
      if (runs.length > 0) out.push(...w.onKinds(f.seq, runs, this.unread));
    } else if (!f.repair) {
      const first = seqAdd(f.seq, -f.fragIndex);
      if (this.firstHeard === undefined || seqDiff(first, this.firstHeard) < 0)
        this.firstHeard = first;
      if (this.held.length < MAX_HELD_BEFORE_START && this.mayHold()) this.held.push(f);
      else this.clock.budget.refused++;
      this.holdUntil ??= this.clock.now() + START_HOLD_MS;
      this.tryStart(out);
    }
    return this.assemble(out);
  }

  /** Room in the hold budget, overall and for this stream. */
  private mayHold(): boolean {
    const b = this.clock.budget;
    return b.used < b.max && this.accounted < b.perPeer;
  }

  /**
   * An announced tail, limited to MAX_TAIL_LEAD beyond the highest seq we know of, and for a
   * sender that has not proven itself to UNPROVEN_TAIL_SPAN beyond what we have delivered.
   */
  private believable(tail: number): number {
    if (!this.window) return tail;
    const limit = this.proven
      ? seqAdd(this.window.highest, MAX_TAIL_LEAD)
      : seqAdd(this.window.next, UNPROVEN_TAIL_SPAN - 1);
    if (seqDiff(tail, limit) <= 0) return tail;
    this.tailsCut++;
    return limit;
  }

  /** Announced tails acted on only in part (beyond MAX_TAIL_LEAD or UNPROVEN_TAIL_SPAN). */
  tailsCut = 0;

  /** Another member asked this sender for these seqs: our own NACK can wait. */
  onNackHeard(ranges: SeqRange[]): void {
    this.window?.onNackHeard(ranges);
  }

  /** A tail from a frame header (a 0.2 member's NACK, REPORT or GONE carries its own). */
  onTail(tail: number): InboundItem[] {
    return this.assemble(this.window ? this.window.onTail(this.believable(tail)) : []);
  }

  onGone(ranges: SeqRange[]): InboundItem[] {
    if (!this.window) return [];
    return this.assemble(this.window.onGone(ranges));
  }

  /** The sender is gone for good: whatever is still missing is lost. */
  giveUp(): InboundItem[] {
    const out: Delivery<Fragment>[] = [];
    this.tryStart(out, true);
    if (this.window) out.push(...this.window.giveUp());
    return this.assemble(out);
  }

  /** Timers: NACKs to send (one frame's ranges per entry), deliveries after give-ups. */
  poll(): { items: InboundItem[]; nacks: SeqRange[][] } {
    const out: Delivery<Fragment>[] = [];
    const nacks: SeqRange[][] = [];
    if (!this.window) this.tryStart(out);
    if (this.window) {
      for (let i = 0; i < 64; i++) {
        const r = this.window.poll();
        out.push(...r.out);
        if (r.nack.length === 0) break;
        nacks.push(r.nack);
      }
    }
    const items = this.assemble(out);
    if (this.partial.length > 0 && this.clock.now() >= this.partialAt + PARTIAL_IDLE_MS) {
      // Its other fragments never came (and no gap says they exist): it cannot be delivered.
      const head = this.partial[0] as Fragment;
      const seq = seqAdd(head.seq, this.partial.length);
      const count = head.fragCount - this.partial.length;
      items.push({ type: "lost", seq, count, messages: 1 });
      this.partial = [];
      this.sync();
    }
    return { items, nacks };
  }

  /** Earliest time poll() has work. */
  nextDeadline(): number | undefined {
    const w = this.window?.nextDeadline();
    const h = this.window ? undefined : this.holdUntil;
    const p = this.partial.length > 0 ? this.partialAt + PARTIAL_IDLE_MS : undefined;
    let at: number | undefined;
    for (const t of [w, h, p]) if (t !== undefined && (at === undefined || t < at)) at = t;
    return at;
  }

  /** Creates the window once the start point is known, and replays held fragments. */
  private tryStart(out: Delivery<Fragment>[], force = false): void {
    if (this.window) return;
    const base = startPoint({
      joinedAt: this.clock.joinedAt,
      presence: this.presence,
      firstHeard: this.firstHeard,
      holdExpired: force || (this.holdUntil !== undefined && this.clock.now() >= this.holdUntil),
    });
    if (base === undefined) return;
    this.base = base;
    this.window = new ReceiverWindow<Fragment>(base, {
      now: this.clock.now,
      random: this.clock.random,
      ...this.clock.window,
    });
    for (const f of this.held) {
      out.push(...(this.reads(f.kind) ? this.window.onMessage(f) : this.window.onSkip(f.seq)));
    }
    this.held = [];
    if (this.presence) out.push(...this.window.onTail(this.believable(this.presence.tail)));
  }

  /** In-order deliveries -> whole records; a lost range breaks the record in progress. */
  private assemble(out: Delivery<Fragment>[]): InboundItem[] {
    const items: InboundItem[] = [];
    /** The last item is a gap whose first fragment after it has not been seen yet. */
    let afterGap = false;
    for (const d of out) {
      if (d.type === "lost") {
        afterGap = true;
        const last = items[items.length - 1];
        // Fragments of the broken record in progress are one record, the rest one each.
        const rest =
          this.partial.length > 0
            ? (this.partial[0] as Fragment).fragCount - this.partial.length
            : 0;
        const messages = (this.partial.length > 0 ? 1 : 0) + Math.max(0, d.range.count - rest);
        if (last?.type === "lost") {
          last.count += d.range.count;
          last.messages += messages;
        } else {
          items.push({ type: "lost", seq: d.range.start, count: d.range.count, messages });
        }
        this.partial = [];
        continue;
      }
      const f = d.frame;
      if (f.fragIndex === 0) this.partial = [];
      if (f.fragIndex !== this.partial.length) {
        // The start of this record was lost (already counted): drop the rest of it. Right after
        // the gap, its first fragIndex lost seqs were counted as records: they are one.
        const last = items[items.length - 1];
        if (afterGap && last?.type === "lost") {
          last.messages = Math.max(1, last.messages - Math.min(f.fragIndex, last.count) + 1);
        }
        afterGap = false;
        this.partial = [];
        continue;
      }
      afterGap = false;
      if (f.fragIndex === 0 && f.fragCount > 1 && !this.mayHold()) {
        // No room to reassemble it (a flood of partial records holds the budget): it is lost,
        // said once; its other fragments are dropped as they come.
        this.clock.budget.refused++;
        items.push({ type: "lost", seq: f.seq, count: f.fragCount, messages: 1 });
        continue;
      }
      this.partial.push(f);
      this.partialAt = this.clock.now();
      if (this.partial.length === f.fragCount) {
        items.push({
          type: "record",
          kind: f.kind,
          seq: seqAdd(f.seq, -f.fragIndex),
          parts: this.partial,
        });
        this.partial = [];
      }
    }
    this.sync();
    return items;
  }

  /** Brings our share of the hold budget up to date (held before start, in the window, partial). */
  private sync(): void {
    const now = this.held.length + (this.window?.held ?? 0) + this.partial.length;
    this.clock.budget.used += now - this.accounted;
    this.accounted = now;
  }
}

export { HoldBudget };
