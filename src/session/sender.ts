import type { MessageFrame, SeqRange } from "../protocol/index.ts";
import { seqAdd } from "../protocol/index.ts";

export interface SenderOptions {
  now(): number;
  random(): number;
  /** Ambient heartbeat interval (ms). */
  ambientMs: number;
}

export interface SenderOutput {
  repairs: MessageFrame[];
  gone: SeqRange[][];
  history: MessageFrame[];
  heartbeat: boolean;
}

/**
 * Our side as a sender: sequence numbers, the heartbeat schedule, and (with the
 * repair buffer) answers to NACKs and history requests.
 */
export class SenderState {
  /** Highest seq used; instances start at 0, so "nothing sent" is 0xFFFFFFFF. */
  tail = 0xffffffff;
  lastActivity: number;
  private nextHeartbeat: number;
  private quickLeft = 0;
  private interval: number;
  private readonly recent: MessageFrame[] = [];

  constructor(private readonly o: SenderOptions) {
    this.lastActivity = o.now();
    this.interval = o.ambientMs;
    this.nextHeartbeat = o.now() + o.ambientMs;
  }

  /** Reserve `n` consecutive sequence numbers; returns the first. */
  allocate(n: number): number {
    const first = seqAdd(this.tail, 1);
    this.tail = seqAdd(this.tail, n);
    this.lastActivity = this.o.now();
    return first;
  }

  remember(f: MessageFrame): void {
    this.recent.push(f);
    if (this.recent.length > 2048) this.recent.shift();
  }

  /** After sending: heartbeats at 100 ms ×4, then doubling up to the ambient interval. */
  scheduleQuick(): void {
    this.quickLeft = 4;
    this.interval = 100;
    this.nextHeartbeat = this.o.now() + 100;
  }

  scheduleSoon(delayMs: number): void {
    this.nextHeartbeat = Math.min(this.nextHeartbeat, this.o.now() + delayMs);
  }

  onNack(_ranges: SeqRange[]): void {
    this.lastActivity = this.o.now();
  }

  onHistoryRequest(_count: number, _requestId: number): void {}

  poll(): SenderOutput {
    const now = this.o.now();
    let heartbeat = false;
    if (now >= this.nextHeartbeat) {
      heartbeat = true;
      if (this.quickLeft > 0) this.quickLeft--;
      else this.interval = Math.min(this.interval * 2, this.o.ambientMs);
      this.nextHeartbeat = now + this.interval;
    }
    return { repairs: [], gone: [], history: [], heartbeat };
  }
}
