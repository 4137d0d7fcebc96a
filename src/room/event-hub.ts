/**
 * The room's events, handed to every client that subscribes (the chat room, the pipe, the
 * transcript; later a browser): each gets every event from the first one on, in order, however
 * late it subscribed (within a bounded backlog), and no client can hurt another.
 *
 * Output is part of flow control (PROTOCOL.md §8). A *paced* subscriber is an output that can
 * block (the pipe's stdout, the chat's terminal): it acknowledges what it has really written out
 * with `consumed(position)`, and the hub's `consumed` (what the session reports to senders) is
 * the lowest acknowledged position over the paced subscribers. An unpaced subscriber (the
 * transcript, which writes synchronously) consumes an event as it is handed on.
 *
 * Memory stays bounded: the backlog is BACKLOG_EVENTS, and a paced subscriber more than
 * MAX_UNCONSUMED events behind is no longer handed events (they are counted, and consumed for
 * it: it no longer holds the room back) until it is back under half of that; then it gets one
 * warning saying how many it missed, and live events again. A listener that throws is cut off
 * (it gets no more events, and no longer holds the room back); the other subscribers are told
 * once, with a warning event.
 */
import type { EventSink } from "../session/event-sink.ts";
import type { SessionEvent } from "../session/events.ts";

/** Events (and hub warnings) kept for subscribers that come late. */
export const BACKLOG_EVENTS = 1024;
/**
 * Events a paced subscriber may have been handed and not yet acknowledged; past this it misses
 * events (with a warning) until it is back under half of it. (To be tuned.)
 */
export const MAX_UNCONSUMED = 200_000;

/**
 * Gets each event with its position: 1, 2, 3… (the hub's `emitted` after it was emitted). A
 * warning from the hub itself (a client fell behind or failed) carries the position of the last
 * event before it. A paced listener acknowledges positions with `Subscription.consumed`.
 */
export type EventListener = (e: SessionEvent, position: number) => void;

export interface SubscribeOptions {
  /** How warnings name it: "the transcript", "stdout", "the terminal". */
  name: string;
  /** An output that can block: it acknowledges what it wrote out (Subscription.consumed). */
  paced?: boolean;
  /** Called once when the listener threw; it gets no more events. */
  onFailure?: (err: unknown) => void;
}

export interface Subscription {
  readonly name: string;
  readonly paced: boolean;
  /** Closed by close(), or cut off after its listener threw. */
  readonly closed: boolean;
  /** Events it was not handed: past the backlog when it subscribed, or while it lagged. */
  readonly missed: number;
  /** Paced: every event up to `position` is written out (a no-op for unpaced ones). */
  consumed(position: number): void;
  /** No more events; it no longer holds the room back. Idempotent. */
  close(): void;
}

export interface EventHubOptions {
  /** Wall clock for the hub's own warnings (default Date.now). */
  clock?: () => number;
  /** Backlog size (tests; default BACKLOG_EVENTS). */
  backlog?: number;
  /** The lag limit (tests; default MAX_UNCONSUMED). */
  maxUnconsumed?: number;
}

/** One event as handed on: a session event (its own position) or a hub warning. */
interface Entry {
  event: SessionEvent;
  position: number;
  /** A hub warning (not a session event): does not count as delivered or emitted. */
  notice?: boolean;
  /** A warning about this subscriber, for the others only. */
  except?: Sub;
}

class Sub implements Subscription {
  closed = false;
  missed = 0;
  /** Highest position acknowledged. */
  acked = 0;
  /** Positions up to here count as consumed for it (before it subscribed; skipped while lagging). */
  floor = 0;
  /** Position of the last session event handed to it. */
  delivered = 0;
  /** Lagging: events are counted, not handed on. */
  lagging = false;
  /** Events missed in the current lag. */
  lagged = 0;
  /** In its listener: what comes meanwhile (re-entrantly) waits here, in order. */
  busy = false;
  queue: Entry[] = [];

  constructor(
    private readonly hub: EventHub,
    readonly listener: EventListener,
    readonly name: string,
    readonly paced: boolean,
    readonly onFailure: ((err: unknown) => void) | undefined,
  ) {}

  /** What it has done with, for the hub's `consumed`. */
  get done(): number {
    return Math.max(this.acked, this.floor);
  }

  consumed(position: number): void {
    if (this.closed || !this.paced || !(position > this.acked)) return;
    this.acked = Math.min(position, this.hub.emitted);
    this.hub.acknowledged(this);
  }

  close(): void {
    this.hub.unsubscribe(this);
  }
}

export class EventHub implements EventSink {
  private readonly subs: Sub[] = [];
  private readonly clock: () => number;
  private readonly maxUnconsumed: number;
  /** The backlog: a ring of the last `capacity` entries. */
  private readonly ring: (Entry | undefined)[];
  private ringStart = 0;
  private ringSize = 0;
  private count = 0;
  /** Position of the last session event handed out (emitted ones may wait in the outbox). */
  private handed = 0;
  private done = 0;
  private readonly consumedCallbacks: (() => void)[] = [];
  private notifyScheduled = false;
  private notified = 0;
  /**
   * Entries to hand out, in order. An event emitted (or a warning raised) while another is
   * being handed out, from inside a listener, waits here: every subscriber sees one order.
   */
  private readonly outbox: Entry[] = [];
  private pumping = false;

  constructor(opts: EventHubOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.maxUnconsumed = opts.maxUnconsumed ?? MAX_UNCONSUMED;
    this.ring = new Array(Math.max(1, opts.backlog ?? BACKLOG_EVENTS));
  }

  get emitted(): number {
    return this.count;
  }

  get consumed(): number {
    return this.done;
  }

  onConsumed(cb: () => void): void {
    this.consumedCallbacks.push(cb);
  }

  /** Subscribers now (closed and failed ones are gone). */
  get subscribers(): readonly Subscription[] {
    return this.subs;
  }

  /** Hands one event to every subscriber. Never throws. */
  emit(e: SessionEvent): void {
    this.outbox.push({ event: e, position: ++this.count });
    this.pump();
    this.update();
  }

  /**
   * A warning from outside the session (the transcript could not write): to every subscriber
   * but `except`, and kept in the backlog for those still to come. Not a session event: it
   * does not count in `emitted`.
   */
  warn(text: string, opts: { except?: Subscription } = {}): void {
    this.notice(text, opts.except instanceof Sub ? opts.except : undefined);
  }

  subscribe(listener: EventListener, opts: SubscribeOptions): Subscription {
    const sub = new Sub(this, listener, opts.name, opts.paced === true, opts.onFailure);
    // Events before it are done with as far as the room is concerned: a newcomer never
    // lowers `consumed`.
    sub.floor = this.done;
    this.subs.push(sub);
    // The backlog first (as its queue: events emitted meanwhile come after it).
    sub.busy = true;
    const first = this.oldest();
    const lost = first === undefined ? this.handed : first - 1;
    if (lost > 0) {
      sub.missed += lost;
      const text = `${lost} earlier events are not shown: the room keeps the last ${this.ring.length}`;
      // Its position: the last event it will not get (acknowledging it claims no more).
      sub.queue.push({ ...this.noticeEntry(text), position: lost });
    }
    for (let i = 0; i < this.ringSize; i++) {
      sub.queue.push(this.ring[(this.ringStart + i) % this.ring.length] as Entry);
    }
    // Handed over from the next microtask on: the subscriber has its Subscription (to
    // acknowledge with) before its listener first runs.
    queueMicrotask(() => {
      sub.busy = false;
      this.run(sub);
    });
    return sub;
  }

  // ---- for Sub ----

  /** `sub` acknowledged more. */
  acknowledged(sub: Sub): void {
    if (sub.lagging && sub.delivered - sub.done < this.maxUnconsumed / 2) {
      // Back under half the limit: say what it missed, then live events again. What it missed
      // (up to now) stays consumed for it.
      sub.lagging = false;
      sub.floor = this.count;
      this.offer(
        sub,
        this.noticeEntry(`${sub.lagged} events were not shown: ${sub.name} did not keep up`),
      );
      sub.lagged = 0;
    }
    this.update();
  }

  unsubscribe(sub: Sub): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.queue = [];
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
    this.update();
  }

  // ---- inside ----

  /** Hands `entry` to `sub`, or counts it as missed while `sub` lags. */
  private offer(sub: Sub, entry: Entry): void {
    if (sub.closed || entry.except === sub) return;
    if (sub.paced && !sub.lagging && !entry.notice) {
      if (entry.position - sub.done > this.maxUnconsumed) {
        sub.lagging = true;
        this.update(); // it no longer holds the room back
      }
    }
    if (sub.lagging) {
      sub.lagged++;
      sub.missed++;
      return;
    }
    sub.queue.push(entry);
    this.run(sub);
  }

  /** Runs `sub`'s queue, unless it is already running (then the running loop will). */
  private run(sub: Sub): void {
    if (sub.busy) return;
    sub.busy = true;
    try {
      while (sub.queue.length > 0 && !sub.closed) {
        const entry = sub.queue.shift() as Entry;
        if (!entry.notice) sub.delivered = entry.position;
        sub.listener(entry.event, entry.position);
      }
    } catch (err) {
      this.fail(sub, err);
    } finally {
      sub.busy = false;
    }
  }

  /** `sub`'s listener threw: it is cut off; the others are told once. */
  private fail(sub: Sub, err: unknown): void {
    this.unsubscribe(sub);
    const why = err instanceof Error ? err.message : String(err);
    // The others get it after the event being handed out (if any).
    this.notice(`${sub.name} failed: ${why}; it gets no more events`, sub);
    try {
      sub.onFailure?.(err);
    } catch {
      // Its failure handler failed too: nothing more to tell it.
    }
  }

  private notice(text: string, except?: Sub): void {
    this.outbox.push(this.noticeEntry(text, except));
    this.pump();
  }

  /** Hands out the outbox, unless a hand-out further up the stack is doing so. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let entry = this.outbox.shift(); entry; entry = this.outbox.shift()) {
        // In the backlog from the moment it is handed out: one that subscribes meanwhile
        // (from a listener) gets it from there, the others from here.
        this.remember(entry);
        for (const sub of this.subs.slice()) this.offer(sub, entry);
      }
    } finally {
      this.pumping = false;
    }
  }

  private noticeEntry(text: string, except?: Sub): Entry {
    const event: SessionEvent = { type: "warning", time: new Date(this.clock()), text };
    return { event, position: this.count, notice: true, except };
  }

  private remember(entry: Entry): void {
    if (!entry.notice) this.handed = entry.position;
    const cap = this.ring.length;
    if (this.ringSize < cap) {
      this.ring[(this.ringStart + this.ringSize) % cap] = entry;
      this.ringSize++;
    } else {
      this.ring[this.ringStart] = entry;
      this.ringStart = (this.ringStart + 1) % cap;
    }
  }

  /** Position of the oldest session event in the backlog. */
  private oldest(): number | undefined {
    for (let i = 0; i < this.ringSize; i++) {
      const entry = this.ring[(this.ringStart + i) % this.ring.length] as Entry;
      if (!entry.notice) return entry.position;
    }
    return undefined;
  }

  /** Recomputes `consumed` (never lower) and tells onConsumed callbacks once per turn. */
  private update(): void {
    let low = this.count;
    for (const sub of this.subs) {
      if (sub.paced && !sub.lagging && sub.done < low) low = sub.done;
    }
    if (low <= this.done) return;
    this.done = low;
    if (this.notifyScheduled || this.consumedCallbacks.length === 0) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      if (this.done === this.notified) return;
      this.notified = this.done;
      for (const cb of this.consumedCallbacks) {
        try {
          cb();
        } catch {
          // A callback's failure is its own; the others still hear.
        }
      }
    });
  }
}
