import type { MessageFrame, SeqRange } from "../protocol/index.ts";
import { seqAdd } from "../protocol/index.ts";
import { HeartbeatSchedule } from "./heartbeat-schedule.ts";
import { RepairBuffer } from "./repair-buffer.ts";
import { Repairer } from "./repairer.ts";

export interface SenderOptions {
  now(): number;
  random(): number;
  /** Ambient heartbeat interval (ms). */
  ambientMs: number;
}

export interface SenderOutput {
  repairs: MessageFrame[];
  /** Ranges for one GONE frame, or [] for none. */
  gone: SeqRange[];
  /** Our own recent messages, answering a HISTORY_REQ. */
  history: MessageFrame[];
  heartbeat: boolean;
}

/** History answers wait a little (random) so answers from several members spread out. */
const HISTORY_DELAY_MS = 50;

/**
 * Our side as a sender: sequence numbers, the repair buffer and its NACK answers, the
 * heartbeat schedule, history answers.
 */
export class SenderState {
  /** Highest seq used; instances start at 0, so "nothing sent" is 0xFFFFFFFF. */
  tail = 0xffffffff;
  /** Last time something about our data happened (a send, a NACK for it). */
  lastActivity: number;
  readonly buffer = new RepairBuffer();
  readonly repairer: Repairer;
  private readonly hb: HeartbeatSchedule;
  private readonly answered = new Set<number>();
  private historyDue?: { at: number; count: number };

  constructor(private readonly o: SenderOptions) {
    this.lastActivity = o.now();
    this.hb = new HeartbeatSchedule(o.now(), { ambientMs: o.ambientMs });
    this.repairer = new Repairer(this.buffer, { now: o.now });
  }

  /** Reserve `n` consecutive sequence numbers; returns the first. */
  allocate(n: number): number {
    const first = seqAdd(this.tail, 1);
    this.tail = seqAdd(this.tail, n);
    this.lastActivity = this.o.now();
    return first;
  }

  /** Keep a sent fragment for repairs and history. */
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

  onNack(ranges: SeqRange[]): void {
    this.lastActivity = this.o.now();
    this.repairer.onNack(ranges);
  }

  /** Answer each request once, after a short random delay. */
  onHistoryRequest(count: number, requestId: number): void {
    if (this.answered.has(requestId)) return;
    if (this.answered.size > 1000) this.answered.clear();
    this.answered.add(requestId);
    const at = this.o.now() + this.o.random() * HISTORY_DELAY_MS;
    this.historyDue = { at, count: Math.max(count, this.historyDue?.count ?? 0) };
  }

  poll(): SenderOutput {
    const now = this.o.now();
    const r = this.repairer.poll();
    let history: MessageFrame[] = [];
    if (this.historyDue && now >= this.historyDue.at) {
      history = this.buffer.recent(this.historyDue.count);
      this.historyDue = undefined;
    }
    let heartbeat = false;
    if (now >= this.hb.nextAt()) {
      heartbeat = true;
      this.hb.onHeartbeatSent(now);
    }
    return { repairs: r.repairs, gone: r.gone, history, heartbeat };
  }

  /** Earliest time poll() has work. */
  nextDeadline(): number {
    const all = [this.hb.nextAt(), this.repairer.nextDeadline(), this.historyDue?.at];
    return Math.min(...all.filter((x): x is number => x !== undefined));
  }
}
