import { seqLess } from "../../protocol/seq.ts";
import { utf8Length } from "../../protocol/utf8.ts";
import type { HistoryRecord } from "../feature.ts";

/**
 * The room's recent text records as this member saw them (its own and everyone else's, whole),
 * in the order it saw them (no sender's clock is trusted for ordering), bounded by count and
 * size (its texts' length, and 64 per record), without duplicates. It answers a late joiner's HISTORY_REQ, so history survives the
 * departure of the original senders.
 */
export class RoomLog {
  /** records[head..] are held, oldest first; sizes[i] is records[i]'s text length (UTF-16). */
  private records: HistoryRecord[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** Records held per instance id, by first seq (cheaper than an "id/seq" string per record). */
  private readonly keys = new Map<string, Map<number, HistoryRecord>>();
  private bytes = 0;

  constructor(
    private readonly maxRecords = 200,
    private readonly maxBytes = 512 * 1024,
  ) {}

  get size(): number {
    return this.records.length - this.head;
  }

  add(r: HistoryRecord): void {
    // What it holds in memory: its text's UTF-16 length (the UTF-8 bytes are counted, exactly,
    // only for an answer: recent()).
    const bytes = r.value.text.length;
    if (this.keys.get(r.id)?.has(r.seq)) return;
    this.records.push(r);
    this.sizes.push(bytes);
    let seqs = this.keys.get(r.id);
    if (!seqs) {
      seqs = new Map();
      this.keys.set(r.id, seqs);
    }
    seqs.set(r.seq, r);
    this.bytes += bytes + OVERHEAD;
    while (this.size > this.maxRecords || (this.bytes > this.maxBytes && this.size > 1)) {
      const old = this.records[this.head] as HistoryRecord;
      const seqs = this.keys.get(old.id);
      seqs?.delete(old.seq);
      if (seqs?.size === 0) this.keys.delete(old.id);
      this.bytes -= (this.sizes[this.head] as number) + OVERHEAD;
      this.head++;
    }
    if (this.head > this.maxRecords) {
      this.records = this.records.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /** The record of instance `id` whose first fragment has seq `seq`, if held. */
  find(id: string, seq: number): HistoryRecord | undefined {
    return this.keys.get(id)?.get(seq);
  }

  /**
   * Whether `seq` of instance `id` is older than every record of it held (or none is held):
   * such a record may have left the log, or come before we joined — we cannot judge it.
   */
  before(id: string, seq: number): boolean {
    const seqs = this.keys.get(id);
    if (!seqs) return true;
    for (const s of seqs.keys()) if (!seqLess(seq, s)) return false;
    return true;
  }

  /**
   * The last `n` records, oldest first, at most `maxBytes` of text (UTF-8) together; with
   * `author`, only that instance's records among the last `n` (its own answer for itself).
   */
  recent(n: number, maxBytes = Number.POSITIVE_INFINITY, author?: string): HistoryRecord[] {
    const out: HistoryRecord[] = [];
    let bytes = 0;
    let seen = 0;
    for (let i = this.records.length - 1; i >= this.head && seen < n; i--, seen++) {
      const r = this.records[i] as HistoryRecord;
      if (author !== undefined && r.id !== author) continue;
      bytes += utf8Length(r.value.text);
      if (bytes > maxBytes && out.length > 0) break;
      out.push(r);
    }
    return out.reverse();
  }
}

/** What a record weighs besides its text. */
const OVERHEAD = 64;
