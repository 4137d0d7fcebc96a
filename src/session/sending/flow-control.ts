/**
 * Sender-side flow control: a transmit window over the members' receiver reports (after PGM's
 * transmit window, RFC 3208, and NORM's ACK-paced flow control, RFC 5740 §5.5). Pure: time is
 * passed in, no I/O.
 *
 * Every member that receives our stream reports `next` (REPORT frames): every seq before it was
 * delivered to it or declared lost. We may have at most `windowFragments` fragments and
 * `windowBytes` encoded bytes beyond the lowest `next` of the members that hold us back; the
 * session's send() waits while the window is full. So a member that falls behind for a moment
 * (start-up, a GC pause, a busy CPU, a slow terminal) slows the sender instead of overflowing its
 * socket buffer, and everything it still needs is inside the repair buffer (which is larger).
 *
 * A member that has been behind for `stallMs` without its report advancing stops holding us back
 * ("lagging"; the session warns): a frozen reader must not freeze the room. The stall clock runs
 * from when the member fell behind — when the first seq it has not reported was sent — or from
 * its last progress, whichever is later; never from a report it sent before we had anything new:
 * after a pause of any length, a member that reports our next line promptly is never stalled.
 * It holds us back again once it is within half a window of our tail. A member that leaves or
 * times out is removed.
 */
import { seqAdd, seqDiff } from "../../protocol/seq.ts";

export interface FlowOptions {
  /** Fragments beyond the slowest member's report, at most. Default 2048. */
  windowFragments?: number;
  /** Encoded bytes beyond the slowest member's report, at most. Default 1 MiB. */
  windowBytes?: number;
  /**
   * A member behind us whose report has not moved for this long since it fell behind stops
   * holding us back (ms).
   */
  stallMs: number;
}

export const FLOW_DEFAULTS = { windowFragments: 2048, windowBytes: 1024 * 1024 } as const;

/**
 * Members tracked, at most: reports from further new ids are ignored (they cannot grow the
 * table without bound; PROTOCOL.md leaves hostile input to the sealed rooms of a later version).
 */
const MAX_MEMBERS = 1024;
/** Byte counts and send times are kept for this many recent seqs (a power of two, > any window). */
const RING = 1 << 16;

interface Member {
  next: number;
  /** When `next` last moved (or the member first reported, or caught up). */
  advancedAt: number;
  lagging: boolean;
}

export class FlowControl {
  readonly windowFragments: number;
  readonly windowBytes: number;
  private readonly members = new Map<string, Member>();
  /** Highest seq sent; nothing sent yet = 0xFFFFFFFF (instances start at 0). */
  private tail = 0xffffffff;
  private sentCount = 0;
  /** Running total of encoded bytes sent, and its value after each seq (seq & (RING-1)). */
  private total = 0;
  private readonly cumulative = new Float64Array(RING);
  /** When each recent seq was sent (seq & (RING-1)). */
  private readonly sentAt = new Float64Array(RING);

  constructor(private readonly o: FlowOptions) {
    this.windowFragments = o.windowFragments ?? FLOW_DEFAULTS.windowFragments;
    this.windowBytes = o.windowBytes ?? FLOW_DEFAULTS.windowBytes;
    if (
      !(this.windowFragments >= 1 && this.windowFragments < RING / 2) ||
      !(this.windowBytes >= 1)
    ) {
      throw new RangeError("FlowControl: bad window");
    }
  }

  /** A fragment with this seq and encoded size went out at `now` (seqs in order). */
  sent(seq: number, bytes: number, now: number): void {
    this.total += bytes;
    this.cumulative[seq & (RING - 1)] = this.total;
    this.sentAt[seq & (RING - 1)] = now;
    this.tail = seq;
    this.sentCount++;
  }

  /**
   * A member reported its `next` for our stream. Returns "caught-up" when a lagging member is
   * back within half a window (it holds us back again).
   */
  report(id: string, next: number, now: number): "caught-up" | undefined {
    const end = seqAdd(this.tail, 1);
    // A report from beyond what we sent is bogus (or from a previous life): clamp it.
    if (seqDiff(next, end) > 0) next = end;
    const m = this.members.get(id);
    if (!m) {
      if (this.members.size >= MAX_MEMBERS) return undefined;
      this.members.set(id, { next, advancedAt: now, lagging: false });
      return undefined;
    }
    if (seqDiff(next, m.next) > 0) {
      m.next = next;
      m.advancedAt = now;
    }
    if (m.lagging && this.behind(m) <= this.windowFragments / 2) {
      m.lagging = false;
      m.advancedAt = now;
      return "caught-up";
    }
    return undefined;
  }

  /** The member left or timed out. */
  remove(id: string): void {
    this.members.delete(id);
  }

  /** Whether `fragments` more fragments of `bytes` encoded bytes fit in the window now. */
  hasRoom(fragments: number, bytes: number): boolean {
    let worstFragments = 0;
    let worstBytes = 0;
    for (const m of this.members.values()) {
      if (m.lagging) continue;
      const f = this.behind(m);
      if (f <= 0) continue;
      worstFragments = Math.max(worstFragments, f);
      worstBytes = Math.max(worstBytes, this.bytesFrom(m.next, f));
    }
    // An empty window always takes one message, however large.
    if (worstFragments === 0) return true;
    return (
      worstFragments + fragments <= this.windowFragments && worstBytes + bytes <= this.windowBytes
    );
  }

  /**
   * Members that have been behind us for stallMs without progress: they stop holding us back
   * now. Returns their ids.
   */
  checkStalls(now: number): string[] {
    const out: string[] = [];
    for (const [id, m] of this.members) {
      if (m.lagging || this.behind(m) <= 0) continue;
      if (now - this.stallSince(m) >= this.o.stallMs) {
        m.lagging = true;
        out.push(id);
      }
    }
    return out;
  }

  /** When checkStalls() may next find something, or undefined. */
  nextStall(): number | undefined {
    let at: number | undefined;
    for (const m of this.members.values()) {
      if (m.lagging || this.behind(m) <= 0) continue;
      const t = this.stallSince(m) + this.o.stallMs;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** Members that have not reported our tail yet: id -> fragments behind (lagging ones too). */
  behindMembers(): Map<string, { behind: number; next: number; lagging: boolean }> {
    const out = new Map<string, { behind: number; next: number; lagging: boolean }>();
    for (const [id, m] of this.members) {
      const behind = this.behind(m);
      if (behind > 0) out.set(id, { behind, next: m.next, lagging: m.lagging });
    }
    return out;
  }

  /** Every member reporting on our stream: its `next` and whether it is lagging. */
  reporters(): IterableIterator<[string, { readonly next: number; readonly lagging: boolean }]> {
    return this.members.entries();
  }

  /** Whether this member has ever reported on our stream (and not left since). */
  hasReported(id: string): boolean {
    return this.members.has(id);
  }

  /** Whether any member (lagging or not) is still behind our tail. */
  get waiting(): boolean {
    for (const m of this.members.values()) if (this.behind(m) > 0) return true;
    return false;
  }

  /**
   * Where a behind member's stall clock starts: when it fell behind (the first seq it has not
   * reported was sent), or its last progress if later. A member further behind than the ring
   * remembers fell behind long ago: its last progress alone counts.
   */
  private stallSince(m: Member): number {
    const behind = this.behind(m);
    if (behind <= 0 || behind >= RING || behind > this.sentCount) return m.advancedAt;
    return Math.max(m.advancedAt, this.sentAt[m.next & (RING - 1)] as number);
  }

  private behind(m: Member): number {
    return seqDiff(seqAdd(this.tail, 1), m.next);
  }

  /** Encoded bytes of the `count` seqs from `next` to our tail. */
  private bytesFrom(next: number, count: number): number {
    if (count >= RING || count > this.sentCount) return Number.POSITIVE_INFINITY;
    const before = count === this.sentCount ? 0 : this.cumulative[seqAdd(next, -1) & (RING - 1)];
    return this.total - (before as number);
  }
}
