/**
 * Event sinks whose reader the test controls (src/session/event-sink.ts: a member reports only
 * what its output consumed): a reader that takes events only when told to (a frozen `less`,
 * then a thaw), and one that takes a number of events per virtual ms (a slow terminal).
 */
import type { EventSink } from "../../src/session/event-sink.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { VirtualClock } from "./virtual-clock.ts";

export class ReaderSink implements EventSink {
  readonly events: SessionEvent[] = [];
  private taken = 0;
  private readonly callbacks: (() => void)[] = [];
  emit(e: SessionEvent): void {
    this.events.push(e);
  }
  get emitted(): number {
    return this.events.length;
  }
  get consumed(): number {
    return this.taken;
  }
  onConsumed(cb: () => void): void {
    this.callbacks.push(cb);
  }
  /** The reader takes up to `n` more events (default: everything emitted so far). */
  read(n = Number.POSITIVE_INFINITY): void {
    const to = Math.min(this.events.length, this.taken + n);
    if (to === this.taken) return;
    this.taken = to;
    for (const cb of this.callbacks) cb();
  }
}

/** A reader that takes `perMs` events per virtual ms (0: frozen, until raised). */
export class PacedReader extends ReaderSink {
  constructor(
    vc: VirtualClock,
    public perMs: number,
  ) {
    super();
    const step = () => {
      if (this.perMs > 0) this.read(this.perMs);
      vc.at(vc.now() + 1, step);
    };
    vc.at(vc.now() + 1, step);
  }
}
