import { EventBus } from "./event-bus.ts";
import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";

/**
 * Where a session's events go: the room's sink when it has one, and on() listeners. With a sink,
 * on() listeners are rare: the bus (which keeps early events for its first listener) is fed
 * only once someone listens.
 */
export class EventOutlet {
  private readonly bus = new EventBus();
  private busUsed = false;

  constructor(private readonly sink?: EventSink) {}

  on(listener: (e: SessionEvent) => void): () => void {
    this.busUsed = true;
    return this.bus.on(listener);
  }

  emit(e: SessionEvent): void {
    if (this.sink) {
      this.sink.emit(e);
      if (this.busUsed) this.bus.emit(e);
    } else this.bus.emit(e);
  }

  /** The sink whose consumption paces our reports (the bus consumes at once). */
  get pacing(): EventSink {
    return this.sink ?? this.bus;
  }
}
