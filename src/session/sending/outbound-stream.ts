/**
 * One of our streams as a sender (PROTOCOL.md §12.3): its own seq space, repair buffer and
 * repairer, flow-control window, and the map of which record kind each recent seq carries (the
 * kind runs receivers use to skip kinds they do not read). Stream 0 is the conversation, 1 bulk
 * data; the v1 view for 0.2 members (compat/) is one more, on the v1 wire. Pure: time is passed
 * in, no I/O, no timers.
 */
import { MAX_RUNS } from "../../protocol/constants.ts";
import { seqAdd, seqDiff } from "../../protocol/seq.ts";
import type { KindRun, SeqRange } from "../../protocol/types.ts";
import type { DeliveryState } from "../results.ts";
import { FlowControl } from "./flow-control.ts";
import { RepairBuffer, repairBufferForWindow, type StreamFrame } from "./repair-buffer.ts";
import { Repairer, type RepairerPoll } from "./repairer.ts";

export interface OutboundStreamOptions {
  /** Monotonic clock, ms. */
  now(): number;
  /** When this member started (monotonic ms): see floorFor. */
  startedAt: number;
  /** A member behind us whose report has not moved for this long stops holding us back (ms). */
  stallMs: number;
  /** Flow-control window (tests); default FLOW_DEFAULTS. */
  window?: { fragments?: number; bytes?: number };
}

/**
 * A member that was in the room before us is heard within REPAIR_EARLY_MS of our start and may
 * ask for anything; one heard later is owed what we sent from REPAIR_GRACE_MS before we first
 * heard it (see floorFor).
 */
const REPAIR_EARLY_MS = 1500;
const REPAIR_GRACE_MS = 2000;
/** How often the sender notes its tail, for tailAt() (ms), and how many notes it keeps. */
const TAIL_NOTE_MS = 100;
const TAIL_NOTES = 1200;
/** Deliveries followed at once, at most (older ones are settled as missed by everyone left). */
const MAX_DELIVERIES = 1024;
/** A delivery not confirmed by every member within this long is settled (ms). */
export const DELIVERY_WAIT_MS = 30_000;

interface Delivery {
  last: number;
  waiting: Set<string>;
  reached: string[];
  missed: string[];
  until: number;
  resolve: (d: DeliveryState) => void;
}

export class OutboundStream<F extends StreamFrame = StreamFrame> {
  /** Highest seq used; every stream starts at 0, so "nothing sent" is 0xFFFFFFFF. */
  tail = 0xffffffff;
  readonly buffer: RepairBuffer<F>;
  readonly repairer: Repairer<F>;
  readonly flow: FlowControl;
  /**
   * One note per TAIL_NOTE_MS of sending, oldest first (~2 min of sending): the tail after the
   * last send in it, and when that send was.
   */
  private readonly notes: { since: number; at: number; tail: number }[] = [];
  /**
   * The kinds of the newest seqs, oldest run first: at most MAX_RUNS runs, each of 1..255 seqs
   * (when the newest run is full and its kind goes on, it stays at 255 and the older runs are
   * dropped: "the last 255 seqs are all of this kind" is still true). `unread`: some member may
   * not read that kind.
   */
  private readonly recent: (KindRun & { unread: boolean })[] = [];
  private readonly deliveries: Delivery[] = [];

  constructor(private readonly o: OutboundStreamOptions) {
    this.flow = new FlowControl({
      windowFragments: o.window?.fragments,
      windowBytes: o.window?.bytes,
      stallMs: o.stallMs,
    });
    this.buffer = new RepairBuffer<F>(
      repairBufferForWindow(this.flow.windowFragments, this.flow.windowBytes),
    );
    this.repairer = new Repairer<F>(this.buffer, { now: o.now });
  }

  /** Nothing was ever sent in this stream. */
  get unused(): boolean {
    return this.recent.length === 0;
  }

  /**
   * Reserve `n` consecutive seqs for a record of `kind`; returns the first, and for each of its
   * fragments the kind runs of the seqs before it (PROTOCOL.md §12.5). `unread`: some member in
   * the room may not read this kind. Runs are sent only while a kind some member may not read
   * is among them: a room where everyone reads everything pays nothing for them.
   */
  allocate(n: number, kind: number, unread = false): { first: number; runs: KindRun[][] } {
    const first = seqAdd(this.tail, 1);
    this.tail = seqAdd(this.tail, n);
    const runs: KindRun[][] = [];
    for (let i = 0; i < n; i++) {
      runs.push(this.kindRuns());
      this.pushKind(kind, unread);
    }
    this.note();
    return { first, runs };
  }

  /** The kind runs of the seqs up to the tail (for a PRESENCE's STREAM option). */
  kindRuns(): KindRun[] {
    if (!this.recent.some((r) => r.unread)) return [];
    const out: KindRun[] = [];
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i] as KindRun;
      out.push({ kind: r.kind, count: r.count });
    }
    return out;
  }

  private pushKind(kind: number, unread: boolean): void {
    const last = this.recent[this.recent.length - 1];
    if (last && last.kind === kind) {
      last.unread ||= unread;
      if (last.count < 255) last.count++;
      else if (this.recent.length > 1) this.recent.splice(0, this.recent.length - 1);
      return;
    }
    this.recent.push({ kind, count: 1, unread });
    if (this.recent.length > MAX_RUNS) this.recent.shift();
  }

  /** Notes the tail for tailAt(). */
  private note(): void {
    const now = this.o.now();
    const last = this.notes[this.notes.length - 1];
    if (last && now - last.since < TAIL_NOTE_MS) {
      last.at = now;
      last.tail = this.tail;
    } else {
      if (this.notes.length >= TAIL_NOTES) this.notes.shift();
      this.notes.push({ since: now, at: now, tail: this.tail });
    }
  }

  /**
   * A tail we had at time `t`: every seq up to it was sent by then (it may be up to
   * TAIL_NOTE_MS older than the true one: that only rules out less). Undefined if we sent nothing
   * by `t`, or `t` is older than our notes (then we cannot tell: nothing is ruled out).
   */
  tailAt(t: number): number | undefined {
    let found: number | undefined;
    for (let i = this.notes.length - 1; i >= 0; i--) {
      const n = this.notes[i] as { at: number; tail: number };
      if (n.at <= t) {
        found = n.tail;
        break;
      }
    }
    if (found === undefined) return undefined;
    if (this.notes.length >= TAIL_NOTES && (this.notes[0] as { at: number }).at > t)
      return undefined;
    return found;
  }

  /** A fragment of ours went out (seqs in order): kept for repairs, counted in the window. */
  sent(f: F, bytes: number): void {
    this.buffer.add(f, bytes);
    this.flow.sent(f.seq, bytes, this.o.now());
  }

  /**
   * A NACK for our seqs from `requester` (an instance id), first heard at `firstSeen`: seqs it
   * cannot have missed (floorFor) are not repaired for it.
   */
  onNack(ranges: SeqRange[], requester?: string, firstSeen?: number): void {
    const floor = firstSeen === undefined ? undefined : this.floorFor(firstSeen);
    this.repairer.onNack(ranges, requester, floor);
  }

  /**
   * The newest of our seqs a member first heard at `firstSeen` cannot have missed. A member
   * that was in the room before us is heard within REPAIR_EARLY_MS of our start (it answers
   * our HELLO) and may ask for anything. One heard later joined after us: it is owed what we
   * sent from REPAIR_GRACE_MS before we first heard it (its HELLO may have been lost; its quick
   * heartbeats follow within a second). So a made-up id announced now cannot make us resend
   * our history.
   */
  floorFor(firstSeen: number): number | undefined {
    if (firstSeen <= this.o.startedAt + REPAIR_EARLY_MS) return undefined;
    return this.tailAt(firstSeen - REPAIR_GRACE_MS);
  }

  /** Repairs and GONE ranges to send now. */
  poll(): RepairerPoll<F> {
    return this.repairer.poll();
  }

  /** Earliest time poll() or settle() has work. */
  nextDeadline(): number | undefined {
    const r = this.repairer.nextDeadline();
    const d = this.deliveries[0]?.until;
    if (r === undefined) return d;
    return d === undefined || r < d ? r : d;
  }

  // ---- flow control and delivery ----

  /**
   * A member reported its `next` for this stream (`steady`: an older member, which reports on
   * every progress); returns what FlowControl.report says.
   */
  report(member: string, next: number, now: number, steady = true): "caught-up" | undefined {
    const r = this.flow.report(member, next, now, steady);
    if (this.deliveries.length > 0) {
      for (const d of this.deliveries) {
        if (d.waiting.has(member) && seqDiff(next, d.last) > 0) {
          d.waiting.delete(member);
          d.reached.push(member);
        }
      }
      this.settle(now);
    }
    return r;
  }

  /** The member left, timed out or stopped holding us back: it no longer confirms anything. */
  drop(member: string, now: number): void {
    this.flow.remove(member);
    this.missedBy(member, now);
  }

  /** The member stopped holding us back (stall rule): what it has not confirmed is missed. */
  missedBy(member: string, now: number): void {
    for (const d of this.deliveries) {
      if (d.waiting.delete(member)) d.missed.push(member);
    }
    this.settle(now);
  }

  /**
   * Resolves when every member that reports on this stream (and is not lagging) has reported
   * beyond `last`, or has left or fallen behind, or after DELIVERY_WAIT_MS.
   */
  delivery(last: number, now: number): Promise<DeliveryState> {
    const waiting = new Set<string>();
    const reached: string[] = [];
    for (const [id, m] of this.flow.reporters()) {
      if (m.lagging) continue;
      if (seqDiff(m.next, last) > 0) reached.push(id);
      else waiting.add(id);
    }
    return new Promise<DeliveryState>((resolve) => {
      if (waiting.size === 0) return resolve({ reached, missed: [] });
      if (this.deliveries.length >= MAX_DELIVERIES) {
        const old = this.deliveries.shift() as Delivery;
        old.resolve({ reached: old.reached, missed: [...old.missed, ...old.waiting] });
      }
      this.deliveries.push({
        last,
        waiting,
        reached,
        missed: [],
        until: now + DELIVERY_WAIT_MS,
        resolve,
      });
    });
  }

  /** Settles deliveries that every member confirmed, or whose time ran out. */
  settle(now: number): void {
    for (let i = 0; i < this.deliveries.length; ) {
      const d = this.deliveries[i] as Delivery;
      if (d.waiting.size === 0 || now >= d.until) {
        this.deliveries.splice(i, 1);
        d.resolve({ reached: d.reached, missed: [...d.missed, ...d.waiting] });
      } else i++;
    }
  }
}
