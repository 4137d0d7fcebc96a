import type { SessionEvent } from "./events.ts";

/**
 * Where a session's events go, and how far its readers got. Output is part of flow control
 * (PROTOCOL.md §8): a session reports to a sender only what its readers have consumed, so a
 * reader that stops reading (a frozen `less`, a slow script) slows the sender down instead of
 * making this member buffer without bound. The room controller's event hub implements it; the
 * default (EventBus) counts every event as consumed the moment it is handed on.
 */
export interface EventSink {
  /** Hands one event on. Never throws (a failing reader is the sink's business). */
  emit(e: SessionEvent): void;
  /** Events handed on so far. */
  readonly emitted: number;
  /**
   * Of those, how many every paced reader has consumed (written out, displayed); never more
   * than `emitted`. The first `consumed` events are done with.
   */
  readonly consumed: number;
  /** `cb` is called whenever `consumed` grows (at most once per turn of the event loop is fine). */
  onConsumed(cb: () => void): void;
}
