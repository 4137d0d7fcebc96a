/**
 * Receiver side of flow control: when to send a REPORT (our `next` for each sender we receive
 * from). Pure: time is passed in.
 *
 * - A sender's `next` moved by REPORT_EVERY seqs since we last reported it: report now, so a
 *   sender blocked on its window hears of our progress within a fraction of the window.
 * - Any smaller movement (or a new sender): report within REPORT_DELAY_MS.
 * - A sender asks (its heartbeat has the REPORT-WANTED flag: it is waiting on members): report
 *   now, but not more often than every REPORT_MIN_GAP_MS.
 */
import { MAX_REPORT_ENTRIES } from "../protocol/constants.ts";
import { seqDiff } from "../protocol/seq.ts";
import type { ReportEntry } from "../protocol/types.ts";

export const REPORT_EVERY = 512;
export const REPORT_DELAY_MS = 20;
export const REPORT_MIN_GAP_MS = 50;

export class ReportSchedule {
  private readonly reported = new Map<string, number>();
  private dueAt: number | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  /** Sender `id`'s next is now `next` (call after every delivery and when its window starts). */
  progress(id: string, next: number, now: number): void {
    const last = this.reported.get(id);
    if (last === next) return;
    if (last === undefined || seqDiff(next, last) >= REPORT_EVERY) this.due(now);
    else this.due(now + REPORT_DELAY_MS);
  }

  /** A sender asked for reports. */
  requested(now: number): void {
    this.due(Math.max(now, this.lastSentAt + REPORT_MIN_GAP_MS));
  }

  /**
   * The entries of the next REPORT: our `next` for each sender we receive from (not gone),
   * those not yet reported first, at most MAX_REPORT_ENTRIES.
   */
  entries(
    senders: Iterable<{ id: string; gone: boolean; readonly next: number | undefined }>,
  ): ReportEntry[] {
    const fresh: ReportEntry[] = [];
    const known: ReportEntry[] = [];
    for (const p of senders) {
      const next = p.next;
      if (p.gone || next === undefined) continue;
      (this.reported.get(p.id) === next ? known : fresh).push({ target: p.id, next });
    }
    return [...fresh, ...known].slice(0, MAX_REPORT_ENTRIES);
  }

  /** When a report is due, or undefined. */
  get deadline(): number | undefined {
    return this.dueAt;
  }

  /** A report with these entries went out. */
  sent(entries: readonly { target: string; next: number }[], now: number): void {
    for (const e of entries) this.reported.set(e.target, e.next);
    this.dueAt = undefined;
    this.lastSentAt = now;
  }

  forget(id: string): void {
    this.reported.delete(id);
  }

  private due(at: number): void {
    if (this.dueAt === undefined || at < this.dueAt) this.dueAt = at;
  }
}
