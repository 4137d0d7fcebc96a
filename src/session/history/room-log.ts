import type { HistoryRecord } from "../feature.ts";

/**
 * The room's recent text records as this member saw them (its own and everyone else's, whole),
 * in the order it saw them (no sender's clock is trusted for ordering), bounded by count and
 * bytes, without duplicates. It answers a late joiner's HISTORY_REQ, so history survives the
 * departure of the original senders.
 */
export class RoomLog {
  private readonly records: HistoryRecord[] = [];
  /** Seqs held per instance id (cheaper than an "id/seq" string per record). */
  private readonly keys = new Map<string, Set<number>>();
  private bytes = 0;

  constructor(
    private readonly maxRecords = 200,
    private readonly maxBytes = 512 * 1024,
  ) {}

  get size(): number {
    return this.records.length;
  }

  add(r: HistoryRecord): void {
    if (this.keys.get(r.id)?.has(r.seq)) return;
    this.records.push(r);
    let seqs = this.keys.get(r.id);
    if (!seqs) {
      seqs = new Set();
      this.keys.set(r.id, seqs);
    }
    seqs.add(r.seq);
    this.bytes += weight(r);
    while (
      this.records.length > this.maxRecords ||
      (this.bytes > this.maxBytes && this.records.length > 1)
    ) {
      const old = this.records.shift() as HistoryRecord;
      const seqs = this.keys.get(old.id);
      seqs?.delete(old.seq);
      if (seqs?.size === 0) this.keys.delete(old.id);
      this.bytes -= weight(old);
    }
  }

  /** The last `n` records, oldest first, at most `maxBytes` of text together. */
  recent(n: number, maxBytes = Number.POSITIVE_INFINITY): HistoryRecord[] {
    const out: HistoryRecord[] = [];
    let bytes = 0;
    for (let i = this.records.length - 1; i >= 0 && out.length < n; i--) {
      const r = this.records[i] as HistoryRecord;
      bytes += textBytes(r);
      if (bytes > maxBytes && out.length > 0) break;
      out.push(r);
    }
    return out.reverse();
  }
}

const encoder = new TextEncoder();
const textBytes = (r: HistoryRecord) => encoder.encode(r.value.text).length;
const weight = (r: HistoryRecord) => textBytes(r) + 64;
