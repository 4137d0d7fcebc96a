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
export class SenderState {
  /** Highest seq used; instances start at 0, so "nothing sent" is 0xFFFFFFFF. */
  tail = 0xffffffff;
  readonly buffer: RepairBuffer;
  readonly repairer: Repairer;
  private readonly hb: HeartbeatSchedule;

  constructor(private readonly o: SenderOptions) {
    this.buffer = new RepairBuffer(o.buffer);
    this.hb = new HeartbeatSchedule(o.now(), { ambientMs: o.ambientMs });
    this.repairer = new Repairer(this.buffer, { now: o.now });
  }

  /** Reserve `n` consecutive sequence numbers; returns the first. */
  allocate(n: number): number {
    const first = seqAdd(this.tail, 1);
    this.tail = seqAdd(this.tail, n);
    return first;
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

  /** A NACK for our seqs from `requester` (an instance id). */
  onNack(ranges: SeqRange[], requester?: string): void {
    this.repairer.onNack(ranges, requester);
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
    const all = [this.hb.nextAt(), this.repairer.nextDeadline()];
    return Math.min(...all.filter((x): x is number => x !== undefined));
  }
}
