import type { MessageFrame, SeqRange } from "../protocol/index.ts";
import { seqAdd } from "../protocol/index.ts";
import { HeartbeatSchedule } from "./heartbeat-schedule.ts";
import { RepairBuffer, type RepairBufferOptions } from "./repair-buffer.ts";
import { Repairer } from "./repairer.ts";

export interface SenderOptions {
  now(): number;
  /** Ambient heartbeat interval (ms). */
  ambientMs: number;
  /** Repair buffer limits (default REPAIR_BUFFER_DEFAULTS). */
  buffer?: RepairBufferOptions;
}

export interface SenderOutput {
  repairs: MessageFrame[];
  /** Ranges for one GONE frame, or [] for none. */
  gone: SeqRange[];
  heartbeat: boolean;
}

/**
 * Our side as a sender: sequence numbers, the repair buffer and its NACK answers, the
 * heartbeat schedule.
 */
/** See floorFor (ms). */
const REPAIR_EARLY_MS = 1500;
const REPAIR_GRACE_MS = 2000;
/** How often the sender notes its tail, for tailAt() (ms), and how many notes it keeps. */
const TAIL_NOTE_MS = 100;
const TAIL_NOTES = 1200;

export class SenderState {
  /** Highest seq used; instances start at 0, so "nothing sent" is 0xFFFFFFFF. */
  tail = 0xffffffff;
  /**
   * One note per TAIL_NOTE_MS of sending, oldest first (~2 min of sending): the tail after the
   * last send in it, and when that send was.
   */
  private readonly notes: { since: number; at: number; tail: number }[] = [];
  readonly buffer: RepairBuffer;
  readonly repairer: Repairer;
  private readonly hb: HeartbeatSchedule;

  /** When we started (monotonic ms). */
  private readonly startedAt: number;

  constructor(private readonly o: SenderOptions) {
    this.startedAt = o.now();
    this.buffer = new RepairBuffer(o.buffer);
    this.hb = new HeartbeatSchedule(o.now(), { ambientMs: o.ambientMs });
    this.repairer = new Repairer(this.buffer, { now: o.now });
  }

  /** Reserve `n` consecutive sequence numbers; returns the first. */
  allocate(n: number): number {
    const first = seqAdd(this.tail, 1);
    this.tail = seqAdd(this.tail, n);
    const now = this.o.now();
    const last = this.notes[this.notes.length - 1];
    if (last && now - last.since < TAIL_NOTE_MS) {
      last.at = now;
      last.tail = this.tail;
    } else {
      if (this.notes.length >= TAIL_NOTES) this.notes.shift();
      this.notes.push({ since: now, at: now, tail: this.tail });
    }
    return first;
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

  /** Keep a sent fragment for repairs. */
  remember(f: MessageFrame): void {
    this.buffer.add(f);
  }

  /** The start HELLO went out: quick heartbeats follow. */
  started(): void {
    this.hb.start(this.o.now());
  }

  /** A message went out: quick heartbeats announce its tail. */
  messageSent(): void {
    this.hb.onMessageSent(this.o.now());
  }

  /** Heartbeat within `delayMs` (a newcomer's HELLO, a nick change). */
  scheduleSoon(delayMs: number): void {
    this.hb.soon(this.o.now() + delayMs);
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
    if (firstSeen <= this.startedAt + REPAIR_EARLY_MS) return undefined;
    return this.tailAt(firstSeen - REPAIR_GRACE_MS);
  }

  poll(): SenderOutput {
    const now = this.o.now();
    const r = this.repairer.poll();
    let heartbeat = false;
    if (now >= this.hb.nextAt()) {
      heartbeat = true;
      this.hb.onHeartbeatSent(now);
    }
    return { repairs: r.repairs, gone: r.gone, heartbeat };
  }

  /** Earliest time poll() has work. */
  nextDeadline(): number {
    const r = this.repairer.nextDeadline();
    const h = this.hb.nextAt();
    return r !== undefined && r < h ? r : h;
  }
}
