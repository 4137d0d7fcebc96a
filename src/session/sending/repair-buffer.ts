/**
 * Sender side: the bounded buffer of one stream's recent fragments (RECORD, or v1 MESSAGE for the
 * v1 view), from which NACKs are answered. Pure data structure, no clock.
 *
 * - Bounded by fragment count and by bytes (encoded frame size); the oldest fragments go first,
 *   and eviction never leaves the tail fragments of a message whose first fragment is gone
 *   (they could never be reassembled, so repairing them would be wasted).
 * - Seqs are added in order, consecutively (circular u32): one counter per instance.
 * - `classify` tells, for NACKed ranges, which seqs are held (repair them) and which were sent
 *   but are no longer held (answer GONE). Seqs never sent — after our tail, or before our first
 *   — are in neither: we never declare future data lost because of a confused NACK.
 */
import { encodingLength } from "../../protocol/frame.ts";
import { seqAdd, seqDiff } from "../../protocol/seq.ts";
import type { MessageFrame, RecordFrame, SeqRange } from "../../protocol/types.ts";

/** A fragment of one of our streams: a v1.1 RECORD, or a v1 MESSAGE (the v1 view, §12.6). */
export type StreamFrame = RecordFrame | MessageFrame;

export interface RepairBufferOptions {
  /** Fragments kept, at most. Default 16,384. */
  maxCount?: number;
  /** Encoded bytes kept, at most. Default 8 MiB. */
  maxBytes?: number;
}

/**
 * Eight flow-control windows (2,048 fragments / 1 MiB, flow-control.ts): a member that holds
 * the sender back is always repairable, and one that stopped holding it back (it stalled for
 * 3 heartbeat intervals) still finds the last eight windows here — at 40,000 messages/s, the
 * last 0.4 s; at chat speed, hours.
 */
export const REPAIR_BUFFER_DEFAULTS = { maxCount: 16384, maxBytes: 8 * 1024 * 1024 } as const;

/** The repair buffer holds at least this many flow-control windows. */
const BUFFER_WINDOWS = 8;

/** Buffer limits for a flow-control window: the defaults, or BUFFER_WINDOWS windows if larger. */
export function repairBufferForWindow(
  fragments: number,
  bytes: number,
): Required<RepairBufferOptions> {
  return {
    maxCount: Math.max(REPAIR_BUFFER_DEFAULTS.maxCount, BUFFER_WINDOWS * fragments),
    maxBytes: Math.max(REPAIR_BUFFER_DEFAULTS.maxBytes, BUFFER_WINDOWS * bytes),
  };
}

export class RepairBuffer<F extends StreamFrame = StreamFrame> {
  private readonly maxCount: number;
  private readonly maxBytes: number;
  /** frames[head..] are seqs oldest..tail, consecutive. */
  private frames: F[] = [];
  private sizes: number[] = [];
  private head = 0;
  private totalBytes = 0;
  /** Seq of the first fragment ever added, and how many were added (capped). */
  private firstSeq: number | undefined;
  private added = 0;

  constructor(opts: RepairBufferOptions = {}) {
    this.maxCount = opts.maxCount ?? REPAIR_BUFFER_DEFAULTS.maxCount;
    this.maxBytes = opts.maxBytes ?? REPAIR_BUFFER_DEFAULTS.maxBytes;
    if (!(this.maxCount >= 1) || !(this.maxBytes >= 1)) {
      throw new RangeError("RepairBuffer limits must be >= 1");
    }
  }

  /** Fragments held. */
  get size(): number {
    return this.frames.length - this.head;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Last seq added, or undefined if nothing was ever added. */
  get tail(): number | undefined {
    return this.firstSeq === undefined ? undefined : seqAdd(this.firstSeq, this.added - 1);
  }

  /** Oldest seq still held, or undefined if empty. */
  get oldest(): number | undefined {
    return this.frames[this.head]?.seq;
  }

  /**
   * Keeps a fragment we just sent. Its seq must follow the previous one (RangeError otherwise:
   * a caller bug). A fragment larger than maxBytes by itself is not kept (it will be GONE).
   */
  add(frame: F, size = encodingLength(frame)): void {
    const tail = this.tail;
    if (tail !== undefined && frame.seq !== seqAdd(tail, 1)) {
      throw new RangeError(`RepairBuffer.add: seq ${frame.seq} does not follow ${tail}`);
    }
    if (this.firstSeq === undefined) this.firstSeq = frame.seq;
    // Cap the counter well below 2^31 so circular comparisons stay meaningful; `first` is then
    // just "long ago".
    if (this.added < 2 ** 30) this.added++;
    else this.firstSeq = seqAdd(this.firstSeq, 1);
    this.frames.push(frame);
    this.sizes.push(size);
    this.totalBytes += size;
    this.evict();
  }

  /** The fragment with this seq, if still held. */
  get(seq: number): F | undefined {
    const oldest = this.oldest;
    if (oldest === undefined) return undefined;
    const i = seqDiff(seq, oldest);
    if (i < 0 || i >= this.size) return undefined;
    return this.frames[this.head + i];
  }

  /**
   * Splits NACKed ranges: `held` = seqs we can repair (in the order asked, without duplicates
   * within one call); `gone` = seqs we sent but no longer hold. Seqs never sent are dropped.
   * At most `limit` held seqs are examined (duplicates included), so the work is bounded by
   * the caller's budget, not by what the NACK asks (32 ranges of up to 65,535 seqs);
   * `unexamined` counts the held seqs asked beyond it.
   */
  classify(
    ranges: readonly SeqRange[],
    limit = Number.POSITIVE_INFINITY,
  ): { held: number[]; gone: SeqRange[]; unexamined: number } {
    const held: number[] = [];
    const gone: SeqRange[] = [];
    let unexamined = 0;
    const first = this.firstSeq;
    if (first === undefined) return { held, gone, unexamined };
    const sent = this.added; // seqs first .. first+sent-1 were sent
    const heldFrom = sent - this.size; // offset (from first) of the oldest held
    const seen = new Set<number>();
    let examined = 0;
    for (const r of ranges) {
      const a = Math.max(0, seqDiff(r.start, first));
      const b = Math.min(sent - 1, seqDiff(r.start, first) + r.count - 1);
      if (a > b) continue;
      // gone part: [a, min(b, heldFrom - 1)]
      const goneEnd = Math.min(b, heldFrom - 1);
      if (a <= goneEnd) gone.push({ start: seqAdd(first, a), count: goneEnd - a + 1 });
      const from = Math.max(a, heldFrom);
      if (from > b) continue;
      const n = b - from + 1;
      const take = Math.min(n, Math.max(0, limit - examined));
      for (let i = from; i < from + take; i++) {
        const seq = seqAdd(first, i);
        if (!seen.has(seq)) {
          seen.add(seq);
          held.push(seq);
        }
      }
      examined += take;
      unexamined += n - take;
    }
    return { held, gone, unexamined };
  }

  /** Of the asked ranges, the parts that were sent but are no longer held. */
  missing(ranges: readonly SeqRange[]): SeqRange[] {
    return this.classify(ranges).gone;
  }

  /**
   * The fragments of the last `n` complete messages still held, oldest first (for HISTORY
   * answers). A message counts only if all its fragments are held.
   */
  recent(n: number): F[] {
    const msgs: F[][] = [];
    let i = this.frames.length - 1;
    while (i >= this.head && msgs.length < n) {
      const f = this.frames[i] as F;
      const start = i - f.fragIndex;
      const first = this.frames[start];
      if (
        start >= this.head &&
        first?.fragIndex === 0 &&
        f.fragIndex === f.fragCount - 1 &&
        first.fragCount === f.fragCount
      ) {
        msgs.push(this.frames.slice(start, i + 1));
      }
      i = Math.min(i - 1, start - 1);
    }
    return msgs.reverse().flat();
  }

  private evict(): void {
    while (this.size > this.maxCount || this.totalBytes > this.maxBytes) this.dropOldest();
    // Never keep the later fragments of a message whose first fragment was dropped.
    for (;;) {
      const h = this.frames[this.head];
      if (h === undefined || h.fragIndex === 0 || h.seq === this.firstSeq) break;
      this.dropOldest();
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  private dropOldest(): void {
    this.totalBytes -= this.sizes[this.head] as number;
    (this.frames as (F | undefined)[])[this.head] = undefined;
    this.head++;
  }
}
