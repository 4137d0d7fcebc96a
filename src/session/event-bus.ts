import type { SessionEvent } from "./events.ts";

/** The session's listeners: subscribe, emit. Rendering is somebody else's job (ui/). */
export class EventBus {
  private readonly listeners = new Set<(e: SessionEvent) => void>();

  /** Subscribe; returns an unsubscribe function. */
  on(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: SessionEvent): void {
    for (const l of this.listeners) l(e);
  }
}
