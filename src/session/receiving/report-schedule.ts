/**
 * Receiver side of flow control: when to send a REPORT (our `next` for each stream of each
 * sender we receive from). Pure: time is passed in.
 *
 * - A stream's `next` moved by REPORT_EVERY seqs since we last reported it: report now, so a
 *   sender blocked on its window hears of our progress within a fraction of the window.
 * - Any smaller movement (or a new sender): report within REPORT_DELAY_MS.
 * - A sender asks (its heartbeat has the REPORT-WANTED flag: it is waiting on members): report
 *   now, but not more often than every REPORT_MIN_GAP_MS.
 */
import { seqDiff } from "../../protocol/seq.ts";

export const REPORT_EVERY = 512;
export const REPORT_DELAY_MS = 20;
export const REPORT_MIN_GAP_MS = 50;

export class ReportSchedule {
  private readonly reported = new Map<string, number>();
  private dueAt: number | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  /** Stream `key`'s next is now `next` (call whenever what the output consumed moves). */
  progress(key: string, next: number, now: number): void {
    const last = this.reported.get(key);
    if (last === next) return;
    if (last === undefined || seqDiff(next, last) >= REPORT_EVERY) this.due(now);
    else this.due(now + REPORT_DELAY_MS);
  }

  /** A sender asked for reports. */
  requested(now: number): void {
    this.due(Math.max(now, this.lastSentAt + REPORT_MIN_GAP_MS));
  }

  /**
   * What the next REPORT says: of `streams` (our `next` for each stream of each sender we
   * receive from, keyed "id/stream"), those not yet reported first, at most `max`.
   */
  entries<T extends { key: string; next: number }>(streams: Iterable<T>, max: number): T[] {
    const fresh: T[] = [];
    const known: T[] = [];
    for (const s of streams) (this.reported.get(s.key) === s.next ? known : fresh).push(s);
    return [...fresh, ...known].slice(0, max);
  }

  /** When a report is due, or undefined. */
  get deadline(): number | undefined {
    return this.dueAt;
  }

  /** A report with these entries went out (or none was needed). */
  sent(entries: readonly { key: string; next: number }[], now: number): void {
    for (const e of entries) this.reported.set(e.key, e.next);
    this.dueAt = undefined;
    this.lastSentAt = now;
  }

  /** Sender `id` was forgotten: its streams' keys ("id/…") go. */
  forget(id: string): void {
    for (const key of this.reported.keys()) if (key.startsWith(`${id}/`)) this.reported.delete(key);
  }

  private due(at: number): void {
    if (this.dueAt === undefined || at < this.dueAt) this.dueAt = at;
  }
}
