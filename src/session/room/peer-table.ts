import type { SessionEvent } from "../events.ts";
import type { MemberInfo } from "../member-info.ts";
import { HoldBudget } from "../receiving/hold-budget.ts";
import { Peer, type PeerClock } from "./peer.ts";

type Emit = (e: SessionEvent) => void;

/**
 * Sender instances tracked, at most. At the limit, departed and never-announced ones are
 * forgotten first; if every one is a present member, a new instance is not taken in until
 * some time out (a flood of made-up ids cannot push out the real members, nor grow memory).
 */
export const MAX_PEERS = 1024;
/** After a full table had nothing to evict, new instances are refused without a search this long. */
const EVICT_RETRY_MS = 100;

/**
 * Members first heard this soon after we joined, not saying HELLO, were in the room before us
 * (present members answer our HELLO within 200 ms): their nicks date from just before our
 * join. Anyone heard later, or joining (HELLO), took its nick when we heard it. A member's own
 * word for how long it has been here (its age) is not used: a made-up age would let a newcomer
 * take a present member's plain nick.
 */
export const PRESENT_AT_JOIN_MS = 1000;

/** Why a frame's instance was not taken: it claims an id first heard elsewhere, or no room. */
export type Refusal = "spoofed" | "full";

/**
 * The other members of the room, one Peer per sender instance: who is present (join, nick,
 * leave by BYE or timeout), and forgetting departed instances after a while.
 */
export class PeerTable {
  private readonly peers = new Map<string, Peer>();
  /** Peer by the address:port it was first heard from. */
  private readonly byOrigin = new Map<string, Peer>();
  /** Window counters of peers already forgotten. */
  private readonly retired = { duplicates: 0, suppressed: 0, skipped: 0 };
  private readonly clock: PeerClock;

  constructor(
    clock: Omit<PeerClock, "budget"> & { budget?: HoldBudget },
    /** A member silent this long has timed out (ms). */
    readonly timeoutMs: number,
    private readonly emit: Emit,
    private readonly time: () => Date,
  ) {
    this.clock = { ...clock, budget: clock.budget ?? new HoldBudget() };
  }

  /** The fragments held out of order by all peers, and those refused for lack of room. */
  get budget(): HoldBudget {
    return this.clock.budget as HoldBudget;
  }

  get size(): number {
    return this.peers.size;
  }

  get(id: string): Peer | undefined {
    return this.peers.get(id);
  }

  values(): IterableIterator<Peer> {
    return this.peers.values();
  }

  /**
   * The peer for a frame from instance `id` heard from `from` (created on first sight), marked
   * seen; or why not: the instance was first heard from another address:port (a forged frame
   * must not speak for a member), or the table is full of present members.
   */
  heard(id: string, from: string): Peer | Refusal {
    let p = this.peers.get(id);
    if (p && p.from !== from) return "spoofed";
    if (!p) {
      if (this.peers.size >= MAX_PEERS && !this.evictOne()) return "full";
      p = new Peer(id, from, this.clock);
      this.peers.set(id, p);
      this.byOrigin.set(from, p);
    }
    p.lastSeen = this.clock.now();
    return p;
  }

  /** The present member whose frames come from `from`, if any (history answers come from one). */
  memberAt(from: string): Peer | undefined {
    const p = this.byOrigin.get(from);
    return p?.present ? p : undefined;
  }

  /** When a search for an instance to evict last found none (a flood of new ids: skip it). */
  private noVictimAt = Number.NEGATIVE_INFINITY;

  /** Forget one departed or never-announced instance to make room; false if all are members. */
  private evictOne(): boolean {
    const now = this.clock.now();
    if (now - this.noVictimAt < EVICT_RETRY_MS) return false;
    let victim: Peer | undefined;
    for (const p of this.peers.values()) {
      const rank = p.gone ? 0 : p.present ? 2 : 1;
      const best = victim === undefined ? 3 : victim.gone ? 0 : victim.present ? 2 : 1;
      if (rank < 2 && (rank < best || (rank === best && p.lastSeen < (victim as Peer).lastSeen))) {
        victim = p;
      }
    }
    if (!victim) {
      this.noVictimAt = now;
      return false;
    }
    this.forget(victim);
    return true;
  }

  private forget(p: Peer): void {
    const w = this.totalsOf(p);
    this.retired.duplicates += w.duplicates;
    this.retired.suppressed += w.suppressed;
    this.retired.skipped += w.skipped;
    p.release();
    this.peers.delete(p.id);
    if (this.byOrigin.get(p.from) === p) this.byOrigin.delete(p.from);
    this.onForget?.(p.id);
  }

  /** Called with the id of every instance forgotten (to drop its other state). */
  onForget?: (id: string) => void;

  /**
   * A frame with a nick: the member is present (join) or renamed (nick). When it took the nick,
   * as we saw it: just before our join for members already there (heard soon after it, not
   * `joining`: PRESENT_AT_JOIN_MS), else when heard; a member back after a timeout under the
   * same nick keeps its date (a frozen laptop does not lose its nick to whoever took it then).
   * Our own nick dates from our join (Session.members), between the two.
   */
  announce(p: Peer, nick: string, joining = false): void {
    const now = this.clock.now();
    if (!p.present) {
      p.present = true;
      const joined = this.clock.joinedAt;
      if (p.nickSince === undefined || p.nick !== nick) {
        p.nickSince = !joining && now - joined <= PRESENT_AT_JOIN_MS ? joined - 1 : now;
      }
      p.nick = nick;
      this.emit({
        type: "join",
        time: this.time(),
        from: p.from,
        nick,
        id: p.id,
        ...(joining ? { joining: true } : {}),
      });
    } else if (p.nick !== nick) {
      const old = p.nick;
      p.nick = nick;
      p.nickSince = now;
      this.emit({ type: "nick", time: this.time(), from: p.from, nick, id: p.id, old });
    }
  }

  /** The member left (BYE) or timed out: a leave event once. */
  leave(p: Peer, reason: "bye" | "timeout"): void {
    if (p.gone) return;
    p.gone = true;
    p.leftBy = reason;
    if (!p.present) return;
    p.present = false;
    this.emit({ type: "leave", time: this.time(), from: p.from, nick: p.nick, id: p.id, reason });
  }

  /** Members silent for longer than the timeout, not yet marked gone. */
  *timedOut(now: number): Generator<Peer> {
    for (const p of this.peers.values()) {
      if (!p.gone && now - p.lastSeen > this.timeoutMs) yield p;
    }
  }

  /** Forget departed instances after a while. */
  forgetDeparted(now: number): void {
    for (const p of [...this.peers.values()]) {
      if (p.gone && p.byeAt === undefined && now - p.lastSeen > this.timeoutMs * 4) this.forget(p);
    }
  }

  /** When the next member may time out, or undefined. */
  nextTimeout(): number | undefined {
    let at: number | undefined;
    for (const p of this.peers.values()) {
      if (p.gone) continue;
      const t = p.lastSeen + this.timeoutMs + 1;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** How many members are present now (not ourselves). */
  presentCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.present) n++;
    return n;
  }

  /** Present members (not ourselves). */
  present(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const p of this.peers.values()) {
      if (p.present) {
        const m: MemberInfo = {
          id: p.id,
          nick: p.nick,
          from: p.from,
          lastSeen: p.lastSeen,
          self: false,
          nickSince: p.nickSince,
        };
        if (p.wire) m.wire = p.wire;
        out.push(m);
      }
    }
    return out;
  }

  /**
   * Duplicates dropped, NACKs suppressed and seqs of unread kinds skipped, over all windows
   * (forgotten peers' included).
   */
  windowTotals(): { duplicates: number; suppressed: number; skipped: number } {
    const t = { ...this.retired };
    for (const p of this.peers.values()) {
      const w = this.totalsOf(p);
      t.duplicates += w.duplicates;
      t.suppressed += w.suppressed;
      t.skipped += w.skipped;
    }
    return t;
  }

  private totalsOf(p: Peer): { duplicates: number; suppressed: number; skipped: number } {
    const t = { duplicates: 0, suppressed: 0, skipped: 0 };
    for (const s of p.streams.values()) {
      const w = s.windowStats;
      t.duplicates += w?.duplicates ?? 0;
      t.suppressed += w?.suppressed ?? 0;
      t.skipped += w?.skipped ?? 0;
    }
    return t;
  }
}
