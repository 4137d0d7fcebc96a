/**
 * Receiver side of flow control: when to send a REPORT (our `next` for each stream of each
 * sender we receive from). Pure: time is passed in.
 *
 * - A stream's `next` moved by REPORT_EVERY seqs since we last reported it: report now, so a
 *   sender blocked on its window hears of our progress within a fraction of the window.
 * - Any smaller movement (or a new sender): report within REPORT_DELAY_MS.
 * - A sender asks (its heartbeat has the REPORT-WANTED flag: it is waiting on members): report
 *   now, but not more often than every REPORT_MIN_GAP_MS; its streams go in that report even if
 *   unchanged (our previous report may have been lost).
 *
 * A report says every stream that changed (or was asked for), in as many REPORT frames as that
 * takes (a frame holds MAX_REPORT_ENTRIES): with more senders than one frame holds, the ones
 * after the first frame's worth must not wait for the busy ones to fall quiet. The last frame
 * is filled up with unchanged streams, the longest unreported first.
 */
import { seqDiff } from "../../protocol/seq.ts";

export const REPORT_EVERY = 512;
export const REPORT_DELAY_MS = 20;
export const REPORT_MIN_GAP_MS = 50;

export class ReportSchedule {
  /** Per stream key: the `next` last reported, and when. */
  private readonly reported = new Map<string, { next: number; at: number }>();
  /** Senders (instance ids) that asked for a report since the last one. */
  private readonly wanted = new Set<string>();
  private dueAt: number | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  /** Stream `key`'s next is now `next` (call whenever what the output consumed moves). */
  progress(key: string, next: number, now: number): void {
    const last = this.reported.get(key)?.next;
    if (last === next) return;
    if (last === undefined || seqDiff(next, last) >= REPORT_EVERY) this.due(now);
    else this.due(now + REPORT_DELAY_MS);
  }

  /** Sender `id` asked for reports. */
  requested(now: number, id?: string): void {
    if (id !== undefined) this.wanted.add(id);
    this.due(Math.max(now, this.lastSentAt + REPORT_MIN_GAP_MS));
  }

  /**
   * What the next report says, in frames of at most `max` entries: of `streams` (our `next` for
   * each stream of each sender we receive from, keyed "id/stream"), every one not yet reported
   * at its `next` or asked for, then unchanged ones (longest unreported first) to fill the last
   * frame. At least one frame's worth when there is anything at all.
   */
  entries<T extends { key: string; next: number }>(streams: Iterable<T>, max: number): T[][] {
    const fresh: T[] = [];
    const known: T[] = [];
    for (const s of streams) {
      const r = this.reported.get(s.key);
      const asked = this.wanted.has(s.key.slice(0, s.key.lastIndexOf("/")));
      (r?.next === s.next && !asked ? known : fresh).push(s);
    }
    const at = (s: T) => this.reported.get(s.key)?.at ?? Number.NEGATIVE_INFINITY;
    known.sort((a, b) => at(a) - at(b));
    const count = Math.max(1, Math.ceil(fresh.length / max)) * max;
    const all = [...fresh, ...known].slice(0, count);
    const frames: T[][] = [];
    for (let i = 0; i < all.length; i += max) frames.push(all.slice(i, i + max));
    return frames;
  }

  /** When a report is due, or undefined. */
  get deadline(): number | undefined {
    return this.dueAt;
  }

  /** A report with these entries went out (or none was needed). */
  sent(entries: readonly { key: string; next: number }[], now: number): void {
    for (const e of entries) {
      this.reported.delete(e.key); // Map order: oldest report first
      this.reported.set(e.key, { next: e.next, at: now });
    }
    this.wanted.clear();
    this.dueAt = undefined;
    this.lastSentAt = now;
  }

  /** Sender `id` was forgotten: its streams' keys ("id/…") go. */
  forget(id: string): void {
    for (const key of this.reported.keys()) if (key.startsWith(`${id}/`)) this.reported.delete(key);
    this.wanted.delete(id);
  }

  private due(at: number): void {
    if (this.dueAt === undefined || at < this.dueAt) this.dueAt = at;
  }
}
