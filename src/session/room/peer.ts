import type { SeqRange, StreamFeedback, StreamState } from "../../protocol/types.ts";
import type { HoldBudget } from "../receiving/hold-budget.ts";
import { type InboundItem, InboundStream } from "../receiving/inbound-stream.ts";
import type { WindowOptions } from "../receiving/receiver-window.ts";

export interface PeerClock {
  /** Monotonic ms (the session's scheduler). */
  now(): number;
  random(): number;
  /** Shared by all streams of all peers of a session. */
  budget: HoldBudget;
  /** When this session joined (monotonic ms): instances started before it are not back-filled. */
  joinedAt: number;
  window?: Omit<WindowOptions, "now" | "random">;
  /** Whether this member reads records of `kind` (the others are skipped in silence). */
  reads(kind: number): boolean;
  /** Whether this member reads stream `n` at all (an unknown stream is ignored). */
  readsStream(n: number): boolean;
}

/** How long a departed sender's missing tail waits for repairs already in flight before it is lost. */
export const BYE_GRACE_MS = 500;

/** What a peer's timers produced for one of its streams. */
export interface StreamWork {
  stream: InboundStream;
  items: InboundItem[];
  /** One NACK frame's ranges per entry. */
  nacks: SeqRange[][];
}

/**
 * One remote sender instance: presence (nick, present, gone, when last heard), what it speaks
 * (wire revision, the record kinds it reads) and its streams as we receive them.
 */
export class Peer {
  nick = "";
  /** When it took `nick` on our monotonic clock (member-info.ts nickSince). */
  nickSince: number | undefined = undefined;
  present = false;
  gone = false;
  /** Why it left, while `gone`: a timed-out member that speaks again is back. */
  leftBy?: "bye" | "timeout";
  lastSeen: number;
  /** When BYE was heard: its missing tail gets BYE_GRACE_MS to be repaired. */
  byeAt?: number;
  /** "1.0": a 0.2 member (v1 frames, text only); "1.1": typed streams. Unknown until it speaks. */
  wire?: "1.0" | "1.1";
  /**
   * Its ambient heartbeat interval as it declared it (PRESENCE INTERVAL, bounded; set through
   * PeerTable.declareInterval); undefined for an older member (its timeout is ours).
   */
  intervalMs?: number;
  /** The record kinds it reads (its PRESENCE's KINDS option), when it said. */
  kinds?: ReadonlySet<number>;
  /**
   * Per stream of its: whom it asks for reports (its last PRESENCE's FEEDBACK options, §13).
   * Undefined for a member of an older revision: we report to it by §8's rules.
   */
  feedback?: ReadonlyMap<number, StreamFeedback>;
  /** Its PRESENCE had ALL-REPORT: a small room, every member reports by §8's rules (§13.1). */
  reportsAll = false;
  /** The counter of the last PRESENCE taken from it (older ones are dropped). */
  presenceSeq?: number;
  /** From its first presence frame: when it started on our clock, and its streams' tails then. */
  private start?: { started: number; tails: Map<number, number> };
  readonly streams = new Map<number, InboundStream>();
  /** When it was first heard (monotonic ms). */
  readonly firstSeen: number;

  constructor(
    readonly id: string,
    /** The address:port it was first heard from: only frames from there speak for it. */
    readonly from: string,
    private readonly clock: PeerClock,
  ) {
    this.lastSeen = clock.now();
    this.firstSeen = this.lastSeen;
  }

  /** Stream `n` as we receive it (made on first use); undefined for a stream we do not read. */
  stream(n: number): InboundStream | undefined {
    let s = this.streams.get(n);
    if (s) return s;
    if (!this.clock.readsStream(n)) return undefined;
    s = new InboundStream(n, this.clock, this.clock.reads);
    this.streams.set(n, s);
    // Listed in no presence frame yet: unused when the first one was sent (tail "none").
    if (this.start) s.onPresence(this.start.started, this.start.tails.get(n) ?? 0xffffffff);
    return s;
  }

  /** Gives its share of the hold budget back (the peer is forgotten). */
  release(): void {
    for (const s of this.streams.values()) s.release();
  }

  /** Fragments still missing over all its streams (0 when nothing is owed). */
  get missing(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.missing;
    return n;
  }

  /**
   * A presence frame (HELLO/HEARTBEAT/BYE, v1 or v1.1): the instance's age and its streams'
   * tails. Its start is estimated on our clock as now - age (PROTOCOL.md §5.1).
   */
  onPresence(age: number, streams: readonly StreamState[]): StreamWork[] {
    this.start ??= {
      started: this.clock.now() - age,
      tails: new Map(streams.map((s) => [s.stream, s.tail])),
    };
    const out: StreamWork[] = [];
    for (const st of streams) {
      const s = this.stream(st.stream);
      if (s)
        out.push({
          stream: s,
          items: s.onPresence(this.start.started, st.tail, st.runs),
          nacks: [],
        });
    }
    return out;
  }

  /** The sender is gone for good: whatever is still missing in any stream is lost. */
  giveUp(): StreamWork[] {
    return [...this.streams.values()].map((s) => ({ stream: s, items: s.giveUp(), nacks: [] }));
  }

  /** Timers of all its streams; after BYE, its missing tail is given up after the grace. */
  poll(): StreamWork[] {
    const out: StreamWork[] = [];
    if (
      this.byeAt !== undefined &&
      (this.missing === 0 || this.clock.now() >= this.byeAt + BYE_GRACE_MS)
    ) {
      this.byeAt = undefined;
      out.push(...this.giveUp());
    }
    for (const s of this.streams.values()) out.push({ stream: s, ...s.poll() });
    return out;
  }

  /** Earliest time poll() has work. */
  nextDeadline(): number | undefined {
    let at = this.byeAt !== undefined ? this.byeAt + BYE_GRACE_MS : undefined;
    for (const s of this.streams.values()) {
      const t = s.nextDeadline();
      if (t !== undefined && (at === undefined || t < at)) at = t;
    }
    return at;
  }
}
