/**
 * Receiver side of flow control: when to send a REPORT (our `next` for each stream of each
 * sender we receive from). Pure: time is passed in.
 *
 * How a stream is reported depends on its sender (PROTOCOL.md §8, §13.2):
 * - "every" (a sender of an older revision): a stream's `next` moved by REPORT_EVERY seqs since
 *   we last reported it: report now, so a sender blocked on its window hears of our progress
 *   within a fraction of the window; any smaller movement (or a new stream): within
 *   REPORT_DELAY_MS.
 * - "named" (the sender named us: we are among its slowest): REPORT_EVERY seqs of progress,
 *   or REPORT_DELAY_MS after the stream falls quiet (each progress puts it off): a pipe costs a
 *   report per REPORT_EVERY seqs, a chat line one report.
 * - "asked" (not named): never on progress; only to answer a question (`question`, after the
 *   caller's back-off), which a report heard from another member may `cancel`.
 * A sender that asks (REPORT-WANTED, old or named; or ALL-REPORT) is answered now, but not more
 * often than every REPORT_MIN_GAP_MS; its streams go in that report even if unchanged (our
 * previous report may have been lost).
 *
 * A report says every stream that is due, in as many REPORT frames as that takes (a frame holds
 * MAX_REPORT_ENTRIES): with more senders than one frame holds, the ones after the first frame's
 * worth must not wait for the busy ones to fall quiet. The last frame is filled up with other
 * streams, the longest unreported first.
 */
import { seqDiff } from "../../protocol/seq.ts";

export const REPORT_EVERY = 512;
export const REPORT_DELAY_MS = 20;
export const REPORT_MIN_GAP_MS = 50;
/**
 * A report goes out at once on progress, but not sooner than this many ms per stream it looked
 * at after the previous one: a report reads every stream we receive, so with thousands (a flood
 * of made-up members at the 4,096 cap) reporting each one's progress at once cost O(n) per
 * member, O(n²) in all. With a few streams the spacing is microseconds: no change.
 */
export const REPORT_SPACING_MS_PER_STREAM = 0.005;
/** A member not named answers a question after a back-off over this many ms (§13.2's T). */
export const REPORT_BACKOFF_MS = 40;

export type ReportMode = "every" | "named" | "asked";

/** A stream as the caller lists it: `quiet` when its progress alone is no reason to report. */
export interface ScheduledStream {
  key: string;
  next: number;
  quiet?: boolean;
}

export class ReportSchedule {
  /** Per stream key: the `next` last reported, and when. */
  private readonly reported = new Map<string, { next: number; at: number }>();
  /** Senders (instance ids) that asked for a report since the last one. */
  private readonly wanted = new Set<string>();
  /** Per stream key: when it is due (progress, a question's back-off). */
  private readonly due = new Map<string, number>();
  /** When a sender's request is answered. */
  private requestedAt: number | undefined;
  private dueAt: number | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  /** How long after a report the next one may go on progress (REPORT_SPACING_MS_PER_STREAM). */
  private spacingMs = 0;

  /** Stream `key`'s next is now `next` (call whenever what the output consumed moves). */
  progress(key: string, next: number, now: number, mode: ReportMode = "every"): void {
    const last = this.reported.get(key)?.next;
    if (last === next || mode === "asked") return;
    if (last === undefined || seqDiff(next, last) >= REPORT_EVERY) {
      this.at(key, Math.max(now, this.lastSentAt + this.spacingMs));
    } else if (mode === "every") this.at(key, now + REPORT_DELAY_MS);
    else {
      // named: put off while the stream moves (not past a report already due now)
      const d = this.due.get(key);
      if (d === undefined || d > now) this.set(key, now + REPORT_DELAY_MS);
    }
  }

  /** Sender `id` asked for a report (the streams we report on for it are said). */
  requested(now: number, id?: string): void {
    if (id !== undefined) this.wanted.add(id);
    const at = Math.max(now, this.lastSentAt + REPORT_MIN_GAP_MS);
    if (this.requestedAt === undefined || at < this.requestedAt) this.requestedAt = at;
    this.recompute();
  }

  /** Stream `key` answers a question at `at` (after its back-off), unless cancelled. */
  question(key: string, at: number): void {
    this.at(key, at);
  }

  /** Someone else answered the question on `key` for us. */
  cancel(key: string): void {
    if (this.due.delete(key)) this.recompute();
  }

  /** Whether `key` has a report due (any reason). */
  isDue(key: string): boolean {
    return this.due.has(key);
  }

  /**
   * What the next report says, in frames of at most `max` entries: of `streams` (our `next` for
   * each stream of each sender we receive from, keyed "id/stream"), every one due, asked for, or
   * not quiet and not yet reported at its `next`; then others (longest unreported first) to
   * fill the last frame. No frame when nothing is due.
   */
  entries<T extends ScheduledStream>(streams: Iterable<T>, max: number): T[][] {
    const fresh: T[] = [];
    const known: T[] = [];
    for (const s of streams) {
      const r = this.reported.get(s.key);
      const asked = this.wanted.has(s.key.slice(0, s.key.lastIndexOf("/")));
      const moved = r?.next !== s.next && !s.quiet;
      (moved || asked || this.due.has(s.key) ? fresh : known).push(s);
    }
    // Nothing to say (a report due for streams of the other wire revision): no frame.
    if (fresh.length === 0) return [];
    const at = (s: T) => this.reported.get(s.key)?.at ?? Number.NEGATIVE_INFINITY;
    known.sort((a, b) => at(a) - at(b));
    const count = Math.ceil(fresh.length / max) * max;
    const all = [...fresh, ...known].slice(0, count);
    const frames: T[][] = [];
    for (let i = 0; i < all.length; i += max) frames.push(all.slice(i, i + max));
    return frames;
  }

  /** When a report is due, or undefined. */
  get deadline(): number | undefined {
    return this.dueAt;
  }

  /**
   * A report with these entries went out (or none was needed), after looking at `looked`
   * streams.
   */
  sent(entries: readonly { key: string; next: number }[], now: number, looked = 0): void {
    this.spacingMs = looked * REPORT_SPACING_MS_PER_STREAM;
    for (const e of entries) {
      this.reported.delete(e.key); // Map order: oldest report first
      this.reported.set(e.key, { next: e.next, at: now });
      this.due.delete(e.key);
    }
    // A key due by now that is not in the report has nothing to say (its sender left, its
    // stream has no position): it is dropped, or its deadline would stay in the past.
    for (const [key, at] of this.due) if (at <= now) this.due.delete(key);
    this.wanted.clear();
    this.requestedAt = undefined;
    this.lastSentAt = now;
    this.recompute();
  }

  /** Sender `id` was forgotten: its streams' keys ("id/…") go. */
  forget(id: string): void {
    for (const key of this.reported.keys()) if (key.startsWith(`${id}/`)) this.reported.delete(key);
    for (const key of this.due.keys()) if (key.startsWith(`${id}/`)) this.due.delete(key);
    this.wanted.delete(id);
    this.recompute();
  }

  /** Due at `at` at the latest. */
  private at(key: string, at: number): void {
    const d = this.due.get(key);
    if (d === undefined || at < d) this.set(key, at);
  }

  private set(key: string, at: number): void {
    this.due.set(key, at);
    if (this.dueAt === undefined || at < this.dueAt) this.dueAt = at;
    else this.recompute();
  }

  private recompute(): void {
    let at = this.requestedAt;
    for (const d of this.due.values()) if (at === undefined || d < at) at = d;
    this.dueAt = at;
  }
}
