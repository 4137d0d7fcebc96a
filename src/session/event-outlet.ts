import { EventBus } from "./event-bus.ts";
import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";

/**
 * Where a session's events go: the room's sink when it has one, and on() listeners. With a sink,
 * on() listeners are rare: the bus (which keeps early events for its first listener) is fed
 * only once someone listens.
 *
 * A listener (or sink) that throws is isolated: the others still get the event, and nothing
 * escapes into the session's datagram or timer handlers. Failures are counted (`failures`); the
 * first one is handed to `firstFailure` (the session warns once; a warning that fails again is
 * only counted, so a listener that always throws cannot loop).
 */
export class EventOutlet {
  private readonly bus = new EventBus((err) => this.failed(err));
  private busUsed = false;
  /** Listener and sink calls that threw. */
  failures = 0;

  constructor(
    private readonly sink?: EventSink,
    private readonly firstFailure: (err: unknown) => void = () => {},
  ) {}

  on(listener: (e: SessionEvent) => void): () => void {
    this.busUsed = true;
    return this.bus.on(listener);
  }

  emit(e: SessionEvent): void {
    if (this.sink) {
      try {
        this.sink.emit(e);
      } catch (err) {
        this.failed(err);
      }
      if (this.busUsed) this.bus.emit(e);
    } else this.bus.emit(e);
  }

  /** The sink whose consumption paces our reports (the bus consumes at once). */
  get pacing(): EventSink {
    return this.sink ?? this.bus;
  }

  private failed(err: unknown): void {
    if (++this.failures === 1) this.firstFailure(err);
  }
}

/** The one warning a session gives about a failing event listener. */
export function listenerFailure(err: unknown): string {
  const why = err instanceof Error ? err.message : String(err);
  return `an event listener failed (${why.slice(0, 200)}); later failures are only counted (listenerErrors)`;
}
