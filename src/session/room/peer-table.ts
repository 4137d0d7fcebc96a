import type { SessionEvent } from "../events.ts";
import type { MemberInfo } from "../member-info.ts";
import { HoldBudget } from "../receiving/hold-budget.ts";
import { Peer, type PeerClock } from "./peer.ts";
import { roomIntervalMs } from "./room-interval.ts";

type Emit = (e: SessionEvent) => void;

/**
 * Sender instances tracked, at most. At the limit, departed and never-announced ones are
 * forgotten first; if every one is a present member, a new instance is not taken in until
 * some time out (a flood of made-up ids cannot push out the real members, nor grow memory).
 */
export const MAX_PEERS = 4096;
/**
 * Instances refused past MAX_PEERS that are still counted in the room size estimate, at most:
 * they are heard (so N̂ may exceed the cap) but only their id and when they were last heard
 * are kept, the oldest dropped first.
 */
export const MAX_REFUSED_COUNTED = MAX_PEERS;
/**
 * A member's declared heartbeat interval is taken up to this (ms) for its timeout and for
 * dating its nick (PROTOCOL.md §13.1: bounded before use). No lower bound is needed: a
 * timeout is never shorter than our own (timeoutOf).
 */
export const MAX_DECLARED_INTERVAL_MS = 600_000;
/** A member is timed out after this many of its heartbeat intervals of silence. */
export const TIMEOUT_INTERVALS = 3;
/**
 * New instances are taken in freely while the table holds fewer than ADMIT_FREELY; past that,
 * at most ADMIT_PER_S a second (up to ADMIT_PER_S at once). A room filling up takes in far fewer
 * (1,000 members arriving over a minute: 17 a second); a flood of made-up ids costs a window
 * and NACK rounds for each one taken in, so this bounds that work, and the memory of the windows
 * alive at once, whatever the flood's rate. An instance refused this way is counted in N̂ and
 * taken in when heard again with room to spare (a member heartbeats).
 */
export const ADMIT_FREELY = 1024;
export const ADMIT_PER_S = 200;
/** After a full table had nothing to evict, new instances are refused without a search this long. */
const EVICT_RETRY_MS = 100;

/**
 * Members first heard this soon after we joined, not saying HELLO, were in the room before us
 * (present members answer our HELLO within 200 ms; in a big room only some do, the others are
 * heard at their next heartbeat: within their declared interval, which widens this window for
 * them, up to PRESENT_AT_JOIN_MAX_MS): their nicks date from just before our join. Anyone heard later, or joining (HELLO), took its nick when we heard it. A member's own
 * word for how long it has been here (its age) is not used: a made-up age would let a newcomer
 * take a present member's plain nick.
 */
export const PRESENT_AT_JOIN_MS = 1000;
/**
 * The widest that window gets for a member declaring a long interval: the interval of a room
 * at the member cap (room-interval.ts, ~82 s), plus slack. A
 * made-up interval cannot date a newcomer's nick before ours from later than that.
 */
export const PRESENT_AT_JOIN_MAX_MS = roomIntervalMs(0, MAX_PEERS) + PRESENT_AT_JOIN_MS;

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
  /** Members present now (kept on announce and leave: asked per NACK and report decision). */
  private presentNow = 0;
  /** Of them, those that have not declared their heartbeat interval (older members). */
  private undeclaredNow = 0;
  /** Instances refused past MAX_PEERS, by id: when last heard (oldest first). */
  private readonly refused = new Map<string, number>();
  /** The one-time warning about members past the cap was given. */
  private warnedFull = false;

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
      if (this.peers.size >= ADMIT_FREELY && !this.admit()) {
        this.noteRefused(id, false);
        return "full";
      }
      if (this.peers.size >= MAX_PEERS && !this.evictOne()) {
        this.noteRefused(id);
        return "full";
      }
      this.refused.delete(id);
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

  /** Admissions left past ADMIT_FREELY (a token bucket of ADMIT_PER_S a second), and when. */
  private admissions = ADMIT_PER_S;
  private admissionsAt = Number.NEGATIVE_INFINITY;

  /** Takes an admission past ADMIT_FREELY if one is left. */
  private admit(): boolean {
    const now = this.clock.now();
    if (now > this.admissionsAt) {
      // (The first time, admissionsAt is -∞: the refill is ∞, and the bucket full.)
      const refill = ((now - this.admissionsAt) * ADMIT_PER_S) / 1000;
      this.admissions = Math.min(ADMIT_PER_S, this.admissions + refill);
      this.admissionsAt = now;
    }
    if (this.admissions < 1) return false;
    this.admissions--;
    return true;
  }

  /**
   * An instance not taken in was heard: counted in N̂ for a while; past the cap (`full`), said
   * once.
   */
  private noteRefused(id: string, full = true): void {
    this.refused.delete(id);
    this.refused.set(id, this.clock.now());
    if (this.refused.size > MAX_REFUSED_COUNTED) {
      this.refused.delete(this.refused.keys().next().value as string);
    }
    if (full && !this.warnedFull) {
      this.warnedFull = true;
      this.emit({
        type: "warning",
        time: this.time(),
        text:
          `more than ${MAX_PEERS} members in the room: members past that are not taken in here ` +
          "(their messages are not shown, they are not in /who, not waited for and not repaired); " +
          "they are counted in the room size (/stats)",
      });
    }
  }

  /**
   * N̂, the room size estimate: the members present, ourselves, and the instances refused past
   * the cap heard within the timeout of a room that size (counted, not kept). Constant time, but for dropping
   * refused instances no longer heard (oldest first, each once).
   */
  roomSize(): number {
    if (this.refused.size > 0) {
      const n = this.presentNow + 1 + this.refused.size;
      const quiet =
        this.clock.now() -
        TIMEOUT_INTERVALS * roomIntervalMs(this.timeoutMs / TIMEOUT_INTERVALS, n);
      for (const [id, at] of this.refused) {
        if (at >= quiet) break;
        this.refused.delete(id);
      }
    }
    return this.presentNow + 1 + this.refused.size;
  }

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
      this.presentNow++;
      if (p.intervalMs === undefined) this.undeclaredNow++;
      const joined = this.clock.joinedAt;
      if (p.nickSince === undefined || p.nick !== nick) {
        const window = Math.max(
          PRESENT_AT_JOIN_MS,
          Math.min((p.intervalMs ?? 0) + PRESENT_AT_JOIN_MS, PRESENT_AT_JOIN_MAX_MS),
        );
        p.nickSince = !joining && now - joined <= window ? joined - 1 : now;
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
    this.presentNow--;
    if (p.intervalMs === undefined) this.undeclaredNow--;
    this.emit({ type: "leave", time: this.time(), from: p.from, nick: p.nick, id: p.id, reason });
  }

  /**
   * The member's heartbeat interval as it declared it (INTERVAL, bounded), or undefined for an
   * older member that does not declare one (absent from a frame: kept as it was).
   */
  declareInterval(p: Peer, ms: number | undefined): void {
    if (ms === undefined) return;
    const bounded = Math.min(Math.max(1, Math.floor(ms)), MAX_DECLARED_INTERVAL_MS);
    if (p.present && p.intervalMs === undefined) this.undeclaredNow--;
    p.intervalMs = bounded;
  }

  /** Every present member declared its interval (none would time us out on its own older rule). */
  allDeclareInterval(): boolean {
    return this.undeclaredNow === 0;
  }

  /**
   * How long member `p` may be silent before it has timed out: TIMEOUT_INTERVALS of its
   * declared interval, or our own timeout when it declared none (an older member heartbeats
   * at the configured interval).
   */
  timeoutOf(p: Peer): number {
    return p.intervalMs === undefined
      ? this.timeoutMs
      : Math.max(this.timeoutMs, TIMEOUT_INTERVALS * p.intervalMs);
  }

  /** Members silent for longer than their timeout, not yet marked gone. */
  *timedOut(now: number): Generator<Peer> {
    for (const p of this.peers.values()) {
      if (!p.gone && now - p.lastSeen > this.timeoutOf(p)) yield p;
    }
  }

  /** Forget departed instances after a while. */
  forgetDeparted(now: number): void {
    for (const p of [...this.peers.values()]) {
      if (p.gone && p.byeAt === undefined && now - p.lastSeen > this.timeoutOf(p) * 4) {
        this.forget(p);
      }
    }
  }

  /** When the next member may time out, or undefined. */
  nextTimeout(): number | undefined {
    let at: number | undefined;
    for (const p of this.peers.values()) {
      if (p.gone) continue;
      const t = p.lastSeen + this.timeoutOf(p) + 1;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** How many members are present now (not ourselves). Constant time. */
  presentCount(): number {
    return this.presentNow;
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
