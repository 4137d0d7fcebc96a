/**
 * When to send the next HEARTBEAT (PGM's SPM schedule). Pure: times are passed in, no timers.
 *
 * After a MESSAGE is sent, heartbeats follow quickly — `quickMs` apart, `quickCount` times — and
 * then back off, doubling the gap up to the ambient interval. A heartbeat carries our tail, so a
 * receiver that lost the last message of a burst learns of it ~100 ms later (and, at 40% loss,
 * with 97% odds within 400 ms), and NACKs it. With the defaults, after a send at t = 0:
 *
 *     100, 200, 300, 400, 600, 1000, 1800, 3400 (ambient 2000 reached), 5400, 7400, ... ms
 *
 * During a burst each send pushes the quick phase back (the messages themselves carry the tail),
 * but never beyond `ambientMs` after the previous heartbeat, so liveness is kept.
 * At start, call `start(now)` after the first HELLO: the quick phase then doubles as the HELLO
 * repeats (a member that lost the HELLO learns of us ~100 ms later).
 *
 * The ambient interval may change (`setAmbient`: it grows with the room, room-interval.ts); the
 * quick phase does not.
 */

export interface HeartbeatOptions {
  /** Gap of the quick phase, ms. Default 100. */
  quickMs?: number;
  /** Heartbeats in the quick phase. Default 4. */
  quickCount?: number;
  /** Ambient (slowest) interval, ms. Default 2000. */
  ambientMs?: number;
}

export const HEARTBEAT_DEFAULTS = { quickMs: 100, quickCount: 4, ambientMs: 2000 } as const;

/** Gap before heartbeat number `k` (0-based) after a send. */
export function heartbeatDelay(k: number, opts: HeartbeatOptions = {}): number {
  const quick = opts.quickMs ?? HEARTBEAT_DEFAULTS.quickMs;
  const count = opts.quickCount ?? HEARTBEAT_DEFAULTS.quickCount;
  const ambient = opts.ambientMs ?? HEARTBEAT_DEFAULTS.ambientMs;
  if (k < count) return Math.min(quick, ambient);
  return Math.min(quick * 2 ** (k - count + 1), ambient);
}

export class HeartbeatSchedule {
  private k = 0;
  private due: number;
  private lastHeartbeat: number;
  private ambient: number;
  private opts: HeartbeatOptions;

  constructor(now: number, opts: HeartbeatOptions = {}) {
    this.opts = opts;
    this.ambient = opts.ambientMs ?? HEARTBEAT_DEFAULTS.ambientMs;
    this.lastHeartbeat = now;
    this.due = now + this.ambient;
  }

  /** The ambient interval now (ms). */
  get ambientMs(): number {
    return this.ambient;
  }

  /**
   * A new ambient interval: later gaps follow it; a heartbeat due later than one new interval
   * after the last one is brought forward (a shorter interval is kept at once).
   */
  setAmbient(ms: number): void {
    if (ms === this.ambient) return;
    this.ambient = ms;
    this.opts = { ...this.opts, ambientMs: ms };
    this.due = Math.min(this.due, this.lastHeartbeat + ms);
  }

  /** Enter the quick phase now (after the start HELLO; or to answer a newcomer's HELLO soon). */
  start(now: number): void {
    this.k = 0;
    this.lastHeartbeat = now;
    this.due = now + heartbeatDelay(0, this.opts);
  }

  /** A MESSAGE (not a repair) was sent: restart the quick phase. */
  onMessageSent(now: number): void {
    this.k = 0;
    this.due = Math.min(now + heartbeatDelay(0, this.opts), this.lastHeartbeat + this.ambient);
  }

  /** A HEARTBEAT (or HELLO) was sent: the next one follows the schedule. */
  onHeartbeatSent(now: number): void {
    this.k++;
    this.lastHeartbeat = now;
    this.due = now + heartbeatDelay(this.k, this.opts);
  }

  /** Ask for a heartbeat at `at` at the latest (nick change: now; a newcomer's HELLO: soon). */
  soon(at: number): void {
    this.due = Math.min(this.due, at);
  }

  /** When the next heartbeat is due (absolute time, ms). */
  nextAt(): number {
    return this.due;
  }
}
