import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";

/** Events kept for the first listener, at most (what a session emits before the UI subscribes). */
const MAX_EARLY = 1024;

/**
 * The simplest EventSink: subscribe, emit. Rendering is somebody else's job (ui/).
 * Events emitted before anyone listens (a member's join heard while the session was
 * starting, before the chat room or pipe subscribed) are kept, bounded, and given to
 * the first listener. Listeners are not paced: an event counts as consumed when emitted.
 *
 * Listeners are isolated: one that throws does not stop the others from getting the event, nor
 * escape into whoever emitted it (a datagram handler). Each failure goes to `failed`.
 */
export class EventBus implements EventSink {
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private early: SessionEvent[] | undefined = [];
  private count = 0;

  constructor(private readonly failed: (err: unknown) => void = () => {}) {}

  /** Subscribe; returns an unsubscribe function. */
  on(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    const early = this.early;
    this.early = undefined;
    if (early) for (const e of early) this.call(listener, e);
    return () => this.listeners.delete(listener);
  }

  emit(e: SessionEvent): void {
    this.count++;
    if (this.early) {
      if (this.early.length < MAX_EARLY) this.early.push(e);
      return;
    }
    for (const l of this.listeners) this.call(l, e);
  }

  private call(listener: (e: SessionEvent) => void, e: SessionEvent): void {
    try {
      listener(e);
    } catch (err) {
      this.failed(err);
    }
  }

  get emitted(): number {
    return this.count;
  }

  get consumed(): number {
    return this.count;
  }

  onConsumed(_cb: () => void): void {
    // Every event is consumed as it is emitted: nothing to wait for.
  }
}
