/**
 * Sender-side flow control: a transmit window over the members' receiver reports (after PGM's
 * transmit window, RFC 3208, and NORM's ACK-paced flow control, RFC 5740 §5.5). Pure: time is
 * passed in, no I/O.
 *
 * Members report `next` (REPORT frames): every seq before it was delivered to them or declared
 * lost. We may have at most `windowFragments` fragments and `windowBytes` encoded bytes beyond
 * the window's **floor**; the session's send() waits while the window is full. So a member that
 * falls behind for a moment (start-up, a GC pause, a busy CPU, a slow terminal) slows the sender
 * instead of overflowing its socket buffer, and everything it still needs is inside the repair
 * buffer (which is larger).
 *
 * Who counts (PROTOCOL.md §13): not every member reports, or the feedback would grow with the
 * square of the room. The floor is the lowest `next` of
 * - **steady** reporters: older members, which report on every progress (§8), and
 * - the **named** ones: the few slowest (CLR and up to 4 PLRs), which report on a schedule, and
 * - the members that answered the **question** now open ("who has not reached seq W?"),
 * and never above what the last completed question established: its watermark, or the lowest
 * answer of a member not named. Members that stayed silent reached the watermark (or sit above
 * a report that suppressed theirs). A question is asked when half the window is used beyond the
 * floor, when the window is full, and while draining.
 *
 * A counted member that has been behind for `stallMs` without its report advancing stops
 * holding us back ("lagging"; the session warns): a frozen reader must not freeze the room. The
 * stall clock runs from when the member fell behind — when the first seq it has not reported
 * was sent — or from its last progress, whichever is later; never from a report it sent before
 * we had anything new: after a pause of any length, a member that reports our next line
 * promptly is never stalled. It holds us back again once it is within half a window of our
 * tail. A member that leaves or times out is removed.
 */
import { seqAdd, seqDiff } from "../../protocol/seq.ts";

export interface FlowOptions {
  /** Fragments beyond the floor, at most. Default 2048. */
  windowFragments?: number;
  /** Encoded bytes beyond the floor, at most. Default 1 MiB. */
  windowBytes?: number;
  /**
   * A member behind us whose report has not moved for this long since it fell behind stops
   * holding us back (ms).
   */
  stallMs: number;
  /** How long a question stays open at most (ms). Default QUESTION_MS. */
  questionMs?: number;
}

export const FLOW_DEFAULTS = { windowFragments: 2048, windowBytes: 1024 * 1024 } as const;

/**
 * Members tracked, at most: reports from further new ids are ignored (they cannot grow the
 * table without bound). Past it a member is only ever counted through the question floor.
 */
export const MAX_FLOW_MEMBERS = 4096;
/**
 * A room of at most this many members (N̂) keeps the rules of §8: every member reports on its
 * own and counts, and a member that falls silent holds us back until the stall rule (we say
 * so with ALL-REPORT, PROTOCOL.md §13). A bigger room reports by questions.
 */
export const SMALL_ROOM_MAX = 16;
/** Members named to report on the regular schedule, at most (PROTOCOL.md §13: CLR + 4 PLR). */
export const NAMED_REPORTERS = 5;
/**
 * A question is complete this long after it was asked (ms), or as soon as every present member
 * answered: the receivers' back-off (REPORT_BACKOFF_MS, 40 ms) and a margin for the answers to
 * travel and be read on a busy host.
 */
export const QUESTION_MS = 80;
/** Byte counts and send times are kept for this many recent seqs (a power of two, > any window). */
const RING = 1 << 16;

interface Member {
  next: number;
  /** When `next` last moved (or the member first reported, or caught up). */
  advancedAt: number;
  lagging: boolean;
  /** Reports on every progress (an older member): always counted. */
  steady: boolean;
}

interface Question {
  watermark: number;
  endsAt: number;
  answered: Set<string>;
}

/** What the last completed question established. */
export interface QuestionResult {
  watermark: number;
  /** Members not named are at or beyond this (the watermark, or the lowest such answer). */
  floor: number;
  /** Members that answered it. */
  answered: ReadonlySet<string>;
  /** Questions in a row completed with everyone at this watermark (the named ones included). */
  clean: number;
}

export class FlowControl {
  readonly windowFragments: number;
  readonly windowBytes: number;
  private readonly questionMs: number;
  private readonly members = new Map<string, Member>();
  /** Members whose `next` counts for the floor now: steady, named, answering the open question. */
  private readonly counted = new Set<string>();
  private namedIds: string[] = [];
  private isSmall = true;
  private question: Question | undefined;
  private result: QuestionResult = { watermark: 0, floor: 0, answered: new Set(), clean: 0 };
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
    this.questionMs = o.questionMs ?? QUESTION_MS;
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
   * A member reported its `next` for our stream. `steady`: it reports on every progress (an
   * older member), so it always counts; otherwise it counts while named or while it answers
   * the open question. Returns "caught-up" when a lagging member is back within half a window
   * (it holds us back again).
   */
  report(id: string, next: number, now: number, steady = true): "caught-up" | undefined {
    const end = seqAdd(this.tail, 1);
    // A report from beyond what we sent is bogus (or from a previous life): clamp it.
    if (seqDiff(next, end) > 0) next = end;
    let m = this.members.get(id);
    if (!m) {
      if (this.members.size >= MAX_FLOW_MEMBERS) return undefined;
      m = { next, advancedAt: now, lagging: false, steady };
      this.members.set(id, m);
    } else if (seqDiff(next, m.next) > 0) {
      m.next = next;
      m.advancedAt = now;
    }
    m.steady = steady;
    if (this.question) this.question.answered.add(id);
    if (steady || this.question || this.namedIds.includes(id)) this.counted.add(id);
    if (m.lagging && this.behind(m) <= this.windowFragments / 2) {
      m.lagging = false;
      m.advancedAt = now;
      return "caught-up";
    }
    return undefined;
  }

  /** A small room (SMALL_ROOM_MAX): every member that reported counts, as in §8. */
  get small(): boolean {
    return this.isSmall;
  }

  /**
   * The room became small (or big). Becoming small, members of this revision that reported
   * only when asked are forgotten: their last reports are old, and would hold us back and stall
   * at once; they report again on their own now (ALL-REPORT), and until then do not hold us,
   * as any member that never reported.
   */
  set small(small: boolean) {
    if (small && !this.isSmall) {
      for (const [id, m] of this.members) if (!m.steady && !m.lagging) this.remove(id);
    }
    this.isSmall = small;
  }

  /** The member left or timed out. */
  remove(id: string): void {
    this.members.delete(id);
    this.counted.delete(id);
    this.question?.answered.delete(id);
    if (this.namedIds.includes(id)) this.namedIds = this.namedIds.filter((n) => n !== id);
  }

  /**
   * The window's floor: every member we wait for has consumed every seq before it, as far as
   * we know (PROTOCOL.md §13.3).
   */
  floor(): number {
    const end = seqAdd(this.tail, 1);
    if (this.isSmall) {
      let f = end;
      for (const m of this.members.values()) {
        if (!m.lagging && seqDiff(m.next, f) < 0) f = m.next;
      }
      return f;
    }
    let f = this.result.floor;
    if (seqDiff(f, end) > 0) f = end;
    for (const id of this.counted) {
      const m = this.members.get(id);
      if (m && !m.lagging && seqDiff(m.next, f) < 0) f = m.next;
    }
    return f;
  }

  /** Whether `fragments` more fragments of `bytes` encoded bytes fit in the window now. */
  hasRoom(fragments: number, bytes: number): boolean {
    const floor = this.floor();
    const worstFragments = seqDiff(seqAdd(this.tail, 1), floor);
    // An empty window always takes one message, however large.
    if (worstFragments <= 0) return true;
    const worstBytes = this.bytesFrom(floor, worstFragments);
    return (
      worstFragments + fragments <= this.windowFragments && worstBytes + bytes <= this.windowBytes
    );
  }

  // ---- questions (PROTOCOL.md §13.3) ----

  /** A question is open: our heartbeats carry REPORT-WANTED and its watermark. */
  get asking(): boolean {
    return this.question !== undefined;
  }

  /** The members named to report on the regular schedule, slowest first. */
  get named(): readonly string[] {
    return this.namedIds;
  }

  /** What the last completed question established. */
  get lastQuestion(): QuestionResult {
    return this.result;
  }

  /** Whether half the window is used beyond the floor and no question is open (a big room). */
  wantsQuestion(): boolean {
    // (a small room reports on its own: asked only when the window is full, §8)
    if (this.question || this.isSmall) return false;
    const f = this.floor();
    const used = seqDiff(seqAdd(this.tail, 1), f);
    if (used <= 0) return false;
    return used * 2 >= this.windowFragments || this.bytesFrom(f, used) * 2 >= this.windowBytes;
  }

  /** Ask "who has not reached our tail + 1?" (if no question is open); returns its watermark. */
  ask(now: number): number {
    if (!this.question) {
      this.question = {
        watermark: seqAdd(this.tail, 1),
        endsAt: now + this.questionMs,
        answered: new Set(),
      };
    }
    return this.question.watermark;
  }

  /** The open question's watermark, or (asking nothing) our tail + 1. */
  watermark(): number {
    return this.question?.watermark ?? seqAdd(this.tail, 1);
  }

  /** When the open question completes at the latest. */
  questionEndsAt(): number | undefined {
    return this.question?.endsAt;
  }

  /** Whether every one of `ids` answered the open question. */
  allAnswered(ids: Iterable<string>): boolean {
    const q = this.question;
    if (!q) return false;
    for (const id of ids) if (!q.answered.has(id)) return false;
    return true;
  }

  /**
   * The open question is complete: the slowest members that answered (and named ones that did
   * not: a frozen one must still stall) become the named ones; the others' lowest answer, or
   * the watermark, becomes the floor for everyone not counted.
   */
  finishQuestion(): void {
    const q = this.question;
    if (!q) return;
    this.question = undefined;
    const candidates = new Set<string>([...q.answered, ...this.namedIds]);
    const behind: [string, number][] = [];
    for (const id of candidates) {
      const m = this.members.get(id);
      if (!m || m.lagging || m.steady) continue;
      const b = this.behind(m);
      if (b > 0) behind.push([id, b]);
    }
    behind.sort((a, b) => b[1] - a[1]);
    this.namedIds = behind.slice(0, NAMED_REPORTERS).map(([id]) => id);
    let floor = q.watermark;
    for (const id of q.answered) {
      const m = this.members.get(id);
      if (!m || m.lagging || m.steady || this.namedIds.includes(id)) continue;
      if (seqDiff(m.next, floor) < 0) floor = m.next;
    }
    let clean = floor === q.watermark;
    for (const id of this.namedIds) {
      const m = this.members.get(id) as Member;
      if (seqDiff(m.next, q.watermark) < 0) clean = false;
    }
    for (const id of q.answered) {
      const m = this.members.get(id);
      if (m?.steady && !m.lagging && seqDiff(m.next, q.watermark) < 0) clean = false;
    }
    const again = this.result.watermark === q.watermark;
    this.result = {
      watermark: q.watermark,
      floor,
      answered: q.answered,
      clean: clean ? (again ? this.result.clean : 0) + 1 : 0,
    };
    this.counted.clear();
    for (const id of this.namedIds) this.counted.add(id);
    for (const [id, m] of this.members) if (m.steady) this.counted.add(id);
  }

  // ---- stalls ----

  /**
   * Counted members that have been behind us for stallMs without progress: they stop holding
   * us back now. Returns their ids.
   */
  checkStalls(now: number): string[] {
    const out: string[] = [];
    for (const id of this.countedIds()) {
      const m = this.members.get(id);
      if (!m || m.lagging || this.behind(m) <= 0) continue;
      // (the same sum as nextStall(): `now - since >= stallMs` can round the other way)
      if (now >= this.stallSince(m) + this.o.stallMs) {
        m.lagging = true;
        out.push(id);
      }
    }
    return out;
  }

  /** When checkStalls() may next find something, or undefined. */
  nextStall(): number | undefined {
    let at: number | undefined;
    for (const id of this.countedIds()) {
      const m = this.members.get(id);
      if (!m || m.lagging || this.behind(m) <= 0) continue;
      const t = this.stallSince(m) + this.o.stallMs;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /**
   * Members known to be behind our tail: id -> fragments behind. The counted ones (`all`: every
   * member that reported, as in a small room's drain), and lagging ones (a drain waits for
   * those while what they need is still in the repair buffer).
   */
  behindMembers(
    all = this.isSmall,
  ): Map<string, { behind: number; next: number; lagging: boolean }> {
    const out = new Map<string, { behind: number; next: number; lagging: boolean }>();
    for (const [id, m] of this.members) {
      if (!m.lagging && !all && !this.counted.has(id)) continue;
      const behind = this.behind(m);
      if (behind > 0) out.set(id, { behind, next: m.next, lagging: m.lagging });
    }
    return out;
  }

  /** Every member reporting on our stream: its `next` and whether it is lagging. */
  reporters(): IterableIterator<[string, { readonly next: number; readonly lagging: boolean }]> {
    return this.members.entries();
  }

  /** Member `id`'s last report: its `next` and whether it is lagging; undefined if none. */
  memberOf(id: string): { readonly next: number; readonly lagging: boolean } | undefined {
    return this.members.get(id);
  }

  /** Whether this member has ever reported on our stream (and not left since). */
  hasReported(id: string): boolean {
    return this.members.has(id);
  }

  /** The members whose reports count now: all in a small room. */
  private countedIds(): Iterable<string> {
    return this.isSmall ? this.members.keys() : this.counted;
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
