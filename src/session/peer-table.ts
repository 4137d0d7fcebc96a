import type { SessionEvent } from "./events.ts";
import { Peer, type PeerClock } from "./peer.ts";
import type { WindowStats } from "./receiver-window.ts";

/** A member as /who shows it. */
export interface MemberInfo {
  id: string;
  nick: string;
  from: string;
  /** Monotonic ms (the session's clock) when last heard. */
  lastSeen: number;
  self: boolean;
}

type Emit = (e: SessionEvent) => void;

/**
 * The other members of the room, one Peer per sender instance: who is present (join, nick,
 * leave by BYE or timeout), and forgetting departed instances after a while.
 */
export class PeerTable {
  private readonly peers = new Map<string, Peer>();
  /** Window counters of peers already forgotten. */
  private readonly retired = { duplicates: 0, suppressed: 0 };

  constructor(
    private readonly clock: PeerClock,
    /** A member silent this long has timed out (ms). */
    readonly timeoutMs: number,
    private readonly emit: Emit,
    private readonly time: () => Date,
  ) {}

  get(id: string): Peer | undefined {
    return this.peers.get(id);
  }

  values(): IterableIterator<Peer> {
    return this.peers.values();
  }

  /** The peer for a frame from `id` heard from `from` (created on first sight); marks it seen. */
  heard(id: string, from: string): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = new Peer(id, from, this.clock);
      this.peers.set(id, p);
    }
    p.from = from;
    p.lastSeen = this.clock.now();
    return p;
  }

  /** A frame with a nick: the member is present (join) or renamed (nick). */
  announce(p: Peer, nick: string): void {
    if (!p.present) {
      p.present = true;
      p.nick = nick;
      this.emit({ type: "join", time: this.time(), from: p.from, nick, id: p.id });
    } else if (p.nick !== nick) {
      const old = p.nick;
      p.nick = nick;
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

  /** Forget departed instances after a while; returns the ids forgotten. */
  forgetDeparted(now: number): string[] {
    const out: string[] = [];
    for (const p of this.peers.values()) {
      if (p.gone && p.byeAt === undefined && now - p.lastSeen > this.timeoutMs * 4) {
        const w = p.windowStats;
        this.retired.duplicates += w?.duplicates ?? 0;
        this.retired.suppressed += w?.suppressed ?? 0;
        this.peers.delete(p.id);
        out.push(p.id);
      }
    }
    return out;
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

  /** Present members (not ourselves). */
  present(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const p of this.peers.values()) {
      if (p.present) {
        out.push({ id: p.id, nick: p.nick, from: p.from, lastSeen: p.lastSeen, self: false });
      }
    }
    return out;
  }

  /** Duplicates dropped and NACKs suppressed, over all windows (forgotten ones included). */
  windowTotals(): { duplicates: number; suppressed: number } {
    let { duplicates, suppressed } = this.retired;
    for (const p of this.peers.values()) {
      const w: WindowStats | undefined = p.windowStats;
      duplicates += w?.duplicates ?? 0;
      suppressed += w?.suppressed ?? 0;
    }
    return { duplicates, suppressed };
  }
}
