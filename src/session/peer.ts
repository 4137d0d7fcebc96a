import type { MessageFrame, SeqRange } from "../protocol/index.ts";
import { seqAdd, seqDiff } from "../protocol/index.ts";
import {
  type Delivery,
  ReceiverWindow,
  START_HOLD_MS,
  startPoint,
  type WindowOptions,
} from "./receiver-window.ts";

/**
 * Fragments held by all peers together: before a start point, out of order in a receive
 * window, and in partly reassembled messages. A flood of fragments from made-up senders cannot
 * grow memory beyond it; one-fragment messages in order are never held, so real chat passes a
 * full budget (a long message that finds it full is reported lost).
 */
export class HoldBudget {
  used = 0;
  /** Fragments not held because the budget (or a peer's share) was full. */
  refused = 0;
  constructor(
    readonly max = 16384,
    readonly perPeer = 4096,
  ) {}
}

export interface PeerClock {
  /** Monotonic ms (the session's scheduler). */
  now(): number;
  random(): number;
  /** Shared by all peers of a session (default: a budget of its own). */
  budget?: HoldBudget;
  /** When this session joined (monotonic ms): instances started before it are not back-filled. */
  joinedAt: number;
  window?: Omit<WindowOptions, "now" | "random">;
}

/** One item of a peer's in-order output: a whole message, or fragments lost at that point. */
export type PeerItem =
  | { kind: "message"; parts: MessageFrame[] }
  | {
      kind: "lost";
      /** First lost seq of the gap. */
      seq: number;
      /** Datagrams (fragments) lost. */
      count: number;
      /** Messages lost with them, at most (exact for one-fragment messages). */
      messages: number;
    };

/** What a peer hands to the session, in sender order. */
export interface PeerOutput {
  items: PeerItem[];
}

/** How long a departed sender's missing tail waits for repairs already in flight before it is lost. */
export const BYE_GRACE_MS = 500;
/** Live fragments held while the start point is undecided, at most. */
const MAX_HELD_BEFORE_START = 4096;
/**
 * A sender we have no MESSAGE from yet (only presence frames) can announce a tail at most this
 * far beyond what we have delivered or given up on: a made-up instance announcing tail 4,095 (or 2^31) must not
 * make us hold thousands of missing slots and NACK them. A real sender proves itself with its
 * first message (or its first repair), and its later tails are believed in full.
 */
export const UNPROVEN_TAIL_SPAN = 64;
/** A message whose fragments stopped arriving (no gap is known) is dropped after this (ms). */
export const PARTIAL_IDLE_MS = 30_000;

/**
 * One remote sender instance: presence, where its stream starts for us, ordered and
 * repaired delivery (ReceiverWindow) and reassembly of its fragments into messages.
 */
export class Peer {
  nick = "";
  present = false;
  gone = false;
  /** Why it left, while `gone`: a timed-out member that speaks again is back. */
  leftBy?: "bye" | "timeout";
  lastSeen: number;
  /** When BYE was heard: its missing tail gets BYE_GRACE_MS to be repaired. */
  byeAt?: number;
  private window?: ReceiverWindow;
  private presence?: { started: number; tail: number };
  private firstHeard?: number;
  private holdUntil?: number;
  private held: MessageFrame[] = [];
  private partial: MessageFrame[] = [];
  private partialAt = 0;
  /** A MESSAGE (live or repair) was received from it: its announced tails are believed. */
  private proven = false;
  private readonly budget: HoldBudget;
  /** Fragments of ours counted in the budget. */
  private accounted = 0;
  /** When it was first heard (monotonic ms). */
  readonly firstSeen: number;

  constructor(
    readonly id: string,
    /** The address:port it was first heard from: only frames from there speak for it. */
    readonly from: string,
    private readonly clock: PeerClock,
  ) {
    this.lastSeen = clock.now();
    this.firstSeen = this.lastSeen;
    this.budget = clock.budget ?? new HoldBudget();
  }

  /** Gives its share of the hold budget back (the peer is forgotten). */
  release(): void {
    this.budget.used -= this.accounted;
    this.accounted = 0;
  }

  /** Fragments still missing (0 when nothing is owed). */
  get missing(): number {
    return this.window?.missing ?? 0;
  }

  get windowStats() {
    return this.window?.stats;
  }

  /** Every seq before this was delivered or reported lost (undefined before the window starts). */
  get next(): number | undefined {
    return this.window?.next;
  }

  /**
   * HELLO/HEARTBEAT/BYE: the instance's age (ms since it started, its own monotonic clock) and
   * tail. Its start is estimated on our clock as now - age: delays only make it later (PROTOCOL.md
   * §5.1), and no wall clocks are compared.
   */
  onControl(age: number, tail: number): PeerOutput {
    this.presence ??= { started: this.clock.now() - age, tail };
    const out: Delivery[] = [];
    this.tryStart(out);
    if (this.window) out.push(...this.window.onTail(this.believable(tail)));
    return this.assemble(out);
  }

  onMessage(f: MessageFrame): PeerOutput {
    const out: Delivery[] = [];
    this.proven = true;
    if (this.window) {
      // A fragment that cannot be delivered now would be held: only within the budget.
      if (f.seq === this.window.next || this.mayHold()) out.push(...this.window.onMessage(f));
      else this.budget.refused++;
    } else if (!f.repair) {
      const first = seqAdd(f.seq, -f.fragIndex);
      if (this.firstHeard === undefined || seqDiff(first, this.firstHeard) < 0)
        this.firstHeard = first;
      if (this.held.length < MAX_HELD_BEFORE_START && this.mayHold()) this.held.push(f);
      else this.budget.refused++;
      this.holdUntil ??= this.clock.now() + START_HOLD_MS;
      this.tryStart(out);
    }
    return this.assemble(out);
  }

  /** Room in the hold budget, overall and for this peer. */
  private mayHold(): boolean {
    return this.budget.used < this.budget.max && this.accounted < this.budget.perPeer;
  }

  /** An announced tail, limited for a sender that has not proven itself (UNPROVEN_TAIL_SPAN). */
  private believable(tail: number): number {
    if (this.proven || !this.window) return tail;
    const limit = seqAdd(this.window.next, UNPROVEN_TAIL_SPAN - 1);
    return seqDiff(tail, limit) > 0 ? limit : tail;
  }

  /** Another member asked this sender for these seqs: our own NACK can wait. */
  onNackHeard(ranges: SeqRange[]): void {
    this.window?.onNackHeard(ranges);
  }

  /** A frame's header seq is the sender's tail (NACK and GONE included). */
  onTail(tail: number): PeerOutput {
    return this.assemble(this.window ? this.window.onTail(this.believable(tail)) : []);
  }

  onGone(tail: number, ranges: SeqRange[]): PeerOutput {
    if (!this.window) return { items: [] };
    const tailOut = this.window.onTail(this.believable(tail));
    return this.assemble([...tailOut, ...this.window.onGone(ranges)]);
  }

  /** The sender is gone for good: whatever is still missing is lost. */
  giveUp(): PeerOutput {
    const out: Delivery[] = [];
    this.tryStart(out, true);
    if (this.window) out.push(...this.window.giveUp());
    return this.assemble(out);
  }

  /** Timers: NACKs to send (one frame's ranges per entry), deliveries after give-ups. */
  poll(): PeerOutput & { nacks: SeqRange[][] } {
    const out: Delivery[] = [];
    const nacks: SeqRange[][] = [];
    if (!this.window) this.tryStart(out);
    if (this.window) {
      if (
        this.byeAt !== undefined &&
        (this.window.missing === 0 || this.clock.now() >= this.byeAt + BYE_GRACE_MS)
      ) {
        out.push(...this.window.giveUp());
        this.byeAt = undefined;
      }
      for (let i = 0; i < 64; i++) {
        const r = this.window.poll();
        out.push(...r.out);
        if (r.nack.length === 0) break;
        nacks.push(r.nack);
      }
    }
    const result = { ...this.assemble(out), nacks };
    if (this.partial.length > 0 && this.clock.now() >= this.partialAt + PARTIAL_IDLE_MS) {
      // Its other fragments never came (and no gap says they exist): it cannot be shown.
      const head = this.partial[0] as MessageFrame;
      const seq = seqAdd(head.seq, this.partial.length);
      const count = head.fragCount - this.partial.length;
      result.items.push({ kind: "lost", seq, count, messages: 1 });
      this.partial = [];
      this.sync();
    }
    return result;
  }

  /** Earliest time poll() has work. */
  nextDeadline(): number | undefined {
    const w = this.window?.nextDeadline();
    const h = this.window ? undefined : this.holdUntil;
    const b = this.byeAt !== undefined ? this.byeAt + BYE_GRACE_MS : undefined;
    const p = this.partial.length > 0 ? this.partialAt + PARTIAL_IDLE_MS : undefined;
    let at: number | undefined;
    for (const t of [w, h, b, p]) if (t !== undefined && (at === undefined || t < at)) at = t;
    return at;
  }

  /** Creates the window once the start point is known, and replays held fragments. */
  private tryStart(out: Delivery[], force = false): void {
    if (this.window) return;
    const base = startPoint({
      joinedAt: this.clock.joinedAt,
      presence: this.presence,
      firstHeard: this.firstHeard,
      holdExpired: force || (this.holdUntil !== undefined && this.clock.now() >= this.holdUntil),
    });
    if (base === undefined) return;
    this.window = new ReceiverWindow(base, {
      now: this.clock.now,
      random: this.clock.random,
      ...this.clock.window,
    });
    for (const f of this.held) out.push(...this.window.onMessage(f));
    this.held = [];
    if (this.presence) out.push(...this.window.onTail(this.believable(this.presence.tail)));
  }

  /** In-order deliveries -> whole messages; a lost range breaks the message in progress. */
  private assemble(out: Delivery[]): PeerOutput {
    const items: PeerItem[] = [];
    /** The last item is a gap whose first fragment after it has not been seen yet. */
    let afterGap = false;
    for (const d of out) {
      if (d.type === "lost") {
        afterGap = true;
        const last = items[items.length - 1];
        // Fragments of the broken message in progress are one message, the rest one each.
        const rest =
          this.partial.length > 0
            ? (this.partial[0] as MessageFrame).fragCount - this.partial.length
            : 0;
        const messages = (this.partial.length > 0 ? 1 : 0) + Math.max(0, d.range.count - rest);
        if (last?.kind === "lost") {
          last.count += d.range.count;
          last.messages += messages;
        } else {
          items.push({ kind: "lost", seq: d.range.start, count: d.range.count, messages });
        }
        this.partial = [];
        continue;
      }
      const f = d.frame;
      if (f.fragIndex === 0) this.partial = [];
      if (f.fragIndex !== this.partial.length) {
        // The start of this message was lost (already counted): drop the rest of it. Right after
        // the gap, its first fragIndex lost seqs were counted as messages: they are one.
        const last = items[items.length - 1];
        if (afterGap && last?.kind === "lost") {
          last.messages = Math.max(1, last.messages - Math.min(f.fragIndex, last.count) + 1);
        }
        afterGap = false;
        this.partial = [];
        continue;
      }
      afterGap = false;
      if (f.fragIndex === 0 && f.fragCount > 1 && !this.mayHold()) {
        // No room to reassemble it (a flood of partial messages holds the budget): it is lost,
        // said once; its other fragments are dropped as they come.
        this.budget.refused++;
        items.push({ kind: "lost", seq: f.seq, count: f.fragCount, messages: 1 });
        continue;
      }
      this.partial.push(f);
      this.partialAt = this.clock.now();
      if (this.partial.length === f.fragCount) {
        items.push({ kind: "message", parts: this.partial });
        this.partial = [];
      }
    }
    this.sync();
    return { items };
  }

  /** Brings our share of the hold budget up to date (held before start, in the window, partial). */
  private sync(): void {
    const now = this.held.length + (this.window?.held ?? 0) + this.partial.length;
    this.budget.used += now - this.accounted;
    this.accounted = now;
  }
}
