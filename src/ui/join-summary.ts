/**
 * Quiet presence notices for the chat room (pure state; time and timers are passed in).
 *
 * Two bursts of join/leave events say little one line at a time:
 * - Joining a room: every member already there is heard within the first heartbeat round, and
 *   each would print `-- X joined`. Joins heard in the settle window after we start are held and
 *   said as one names line, "in the room (18): alice, bob, … +9 more". A single one is said as
 *   before (`X joined`): one line either way. In a big room the members answer our HELLO only
 *   in part and their heartbeats are far apart (20 s at 1,000): the others are heard over one
 *   of their intervals, so the window stays open while members already there keep coming in
 *   (until one configured interval passes without any, at most MAX_SETTLE_MS). The wake window
 *   likewise stays open while members come back.
 * - Waking from a freeze (a laptop lid; SIGSTOP): our timers fire late, every member times out
 *   at once and comes back at its next heartbeat. When our own timer tick comes later than
 *   FREEZE_MIN_MS, we were frozen: the joins and leaves of the next wake window are held and
 *   said in at most two lines, "we were frozen for 8 s; 18 members reappeared" and, when some
 *   did not come back (or new ones came), who.
 *
 * Events other than join and leave pass untouched; a held event is still consumed at once
 * (the caller acknowledges it; only its line waits).
 */
import type { SessionEvent } from "../session/events.ts";

/** Our timer tick: how often we check whether we were frozen. */
export const FREEZE_TICK_MS = 250;
/** A tick this late means the process was stopped (not merely busy). */
export const FREEZE_MIN_MS = 2000;
/** The settle window after joining: one heartbeat round plus this slack. */
export const SETTLE_SLACK_MS = 250;
/** The wake window: this many heartbeat rounds (every member heard again) plus the slack. */
export const WAKE_HEARTBEATS = 2;
/** The settle window stays open this long at most (a room at the member cap: ~82 s heartbeats). */
export const MAX_SETTLE_MS = 90_000;
/** Names on a summary line at most; the rest are counted ("+N more"). */
export const MAX_NAMES_WIDTH = 160;

export interface PresenceSummaryOptions {
  /** The room's heartbeat interval (ms). */
  heartbeatMs: number;
  /** Monotonic-enough clock (ms). */
  now: () => number;
  /** One-shot timer; returns its cancel. */
  setTimer: (fn: () => void, ms: number) => () => void;
  /** How a member is named on a summary line (display name, #id when ambiguous). */
  name: (nick: string, id: string) => string;
  /** Say summary lines (without the "--" lead). */
  say: (lines: string[]) => void;
  /** Say one held event as it would have been said alone. */
  sayEvent: (e: SessionEvent) => void;
  /** Width the names may take on a line (default MAX_NAMES_WIDTH). */
  width?: () => number;
}

type Presence = Extract<SessionEvent, { type: "join" | "leave" }>;

interface Window {
  kind: "settle" | "wake";
  /** How long we were frozen (wake). */
  frozenMs: number;
  /** In order: each member's events while held. */
  events: Presence[];
  cancel: () => void;
  /** When it opened, and when it last held a join (settle: members already there). */
  openedAt: number;
  lastJoinAt: number;
}

/** "alice, bob, carol +5 more", within `width` display columns. */
export function namesList(names: readonly string[], width = MAX_NAMES_WIDTH): string {
  const shown: string[] = [];
  let used = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const rest = names.length - i - 1;
    const more = rest > 0 ? ` +${rest} more`.length : 0;
    const add = (shown.length > 0 ? 2 : 0) + Bun.stringWidth(name);
    if (shown.length > 0 && used + add + more > width) {
      return `${shown.join(", ")} +${names.length - shown.length} more`;
    }
    shown.push(name);
    used += add;
  }
  return shown.join(", ");
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export class PresenceSummary {
  private window: Window | undefined;
  private lastTick: number;
  private closed = false;

  constructor(private readonly o: PresenceSummaryOptions) {
    this.lastTick = o.now();
    this.open("settle", 0, o.heartbeatMs + SETTLE_SLACK_MS);
  }

  /** Called every FREEZE_TICK_MS: notices a freeze even when no event comes. */
  tick(): void {
    this.checkFrozen();
  }

  /** An event for the screen: true when it is held (said later, summarised). */
  hold(e: SessionEvent): boolean {
    if (this.closed) return false;
    this.checkFrozen();
    if (e.type !== "join" && e.type !== "leave") return false;
    if (!this.window) return false;
    // The names line is for members already here: one joining now (HELLO) has its own line.
    if (this.window.kind === "settle" && e.type === "join" && e.joining) return false;
    this.window.events.push(e);
    if (e.type === "join") this.window.lastJoinAt = this.o.now();
    return true;
  }

  /** Nothing more is said; a window still open is dropped. */
  close(): void {
    this.closed = true;
    this.window?.cancel();
    this.window = undefined;
  }

  private checkFrozen(): void {
    const now = this.o.now();
    const late = now - this.lastTick;
    this.lastTick = now;
    if (this.closed || late < FREEZE_MIN_MS) return;
    const wakeMs = WAKE_HEARTBEATS * this.o.heartbeatMs + SETTLE_SLACK_MS;
    if (this.window?.kind === "wake") {
      this.window.frozenMs += late;
      return;
    }
    // A settle window still open: its joins are part of what we say on waking.
    const held = this.window?.events ?? [];
    this.window?.cancel();
    this.open("wake", late, wakeMs, held);
  }

  private open(kind: Window["kind"], frozenMs: number, ms: number, events: Presence[] = []): void {
    const now = this.o.now();
    const w: Window = { kind, frozenMs, events, cancel: () => {}, openedAt: now, lastJoinAt: now };
    w.cancel = this.o.setTimer(() => this.flush(w), ms);
    this.window = w;
  }

  private flush(w: Window): void {
    if (this.window !== w || this.closed) return;
    // Members (already there, or back after our freeze) still coming in at a big room's long
    // intervals: wait for one quiet configured interval.
    const now = this.o.now();
    const until = Math.min(w.lastJoinAt + this.o.heartbeatMs, w.openedAt + MAX_SETTLE_MS);
    if (until > now) {
      w.cancel = this.o.setTimer(() => this.flush(w), until - now);
      return;
    }
    this.window = undefined;
    if (w.kind === "settle") this.saySettled(w.events);
    else this.sayWoken(w);
  }

  private saySettled(events: readonly Presence[]): void {
    const here = this.present(events);
    if (here.size === 0) {
      for (const e of events) this.o.sayEvent(e);
      return;
    }
    if (here.size === 1 && events.length === 1) {
      this.o.sayEvent(events[0] as Presence);
      return;
    }
    const names = [...here.values()].map((e) => this.o.name(e.nick, e.id));
    names.sort((a, b) => a.localeCompare(b));
    this.o.say([`in the room (${here.size}): ${namesList(names, this.width())}`]);
  }

  private sayWoken(w: Window): void {
    const secs = Math.round(w.frozenMs / 1000);
    const first = new Map<string, Presence>();
    for (const e of w.events) if (!first.has(e.id)) first.set(e.id, e);
    const here = this.present(w.events);
    let back = 0;
    const gone: string[] = [];
    const added: string[] = [];
    for (const [id, e] of first) {
      const left = e.type === "leave";
      if (left && here.has(id)) back++;
      else if (left) gone.push(this.o.name(e.nick, id));
      else if (here.has(id)) added.push(this.o.name(e.nick, id));
    }
    const head =
      back > 0
        ? `we were frozen for ${secs} s; ${plural(back, "member")} reappeared`
        : `we were frozen for ${secs} s`;
    const lines = [head];
    const rest: string[] = [];
    if (gone.length > 0) rest.push(`gone: ${namesList(gone.sort(), this.width() / 2)}`);
    if (added.length > 0) rest.push(`joined: ${namesList(added.sort(), this.width() / 2)}`);
    if (rest.length > 0) lines.push(rest.join("; "));
    this.o.say(lines);
  }

  /** Members whose last held event is a join: here at the window's end. */
  private present(events: readonly Presence[]): Map<string, Presence> {
    const here = new Map<string, Presence>();
    for (const e of events) {
      if (e.type === "join") here.set(e.id, e);
      else here.delete(e.id);
    }
    return here;
  }

  private width(): number {
    return Math.max(20, Math.min(MAX_NAMES_WIDTH, this.o.width?.() ?? MAX_NAMES_WIDTH));
  }
}
