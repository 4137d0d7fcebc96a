/**
 * A framed member's view of the room's legacy programs (PROTOCOL.md, "Ports"). Pure: time
 * passed in.
 *
 * - Bridging: while legacy mode is on — forced (`--legacy`) or legacy text was heard on the room
 *   port within LEGACY_RECENT_MS — each of our messages also goes to the room port as plain text.
 * - Not showing bridged copies twice: a bridged copy comes from the same socket (address:port)
 *   as its member's frames, so legacy text from a known framed source is dropped. Legacy text
 *   from a source not known yet is held LEGACY_HOLD_MS, in case that member's frames (which left
 *   first, but on another socket) are processed after it.
 */
export const LEGACY_RECENT_MS = 10 * 60 * 1000;
export const LEGACY_HOLD_MS = 50;
/** Framed sources remembered, at most (oldest forgotten first). */
const MAX_FRAMED_SOURCES = 4096;
/** Held legacy datagrams, at most (a flood beyond this is shown without the hold). */
const MAX_HELD = 1024;

export interface HeldLegacy {
  from: string;
  data: Uint8Array;
}

export class LegacyBridge {
  private heardAt: number | undefined;
  private readonly framedSources = new Set<string>();
  private held: (HeldLegacy & { at: number })[] = [];

  constructor(
    private readonly forced: boolean,
    /** Never bridge (an encrypted room sends no plaintext). */
    private readonly never = false,
  ) {}

  /** Whether our messages should also go out as legacy text now. */
  active(now: number): boolean {
    if (this.never) return false;
    return this.forced || (this.heardAt !== undefined && now - this.heardAt < LEGACY_RECENT_MS);
  }

  /** A frame arrived from `from` (address:port): that source is a framed member. */
  framedFrom(from: string): void {
    if (!this.framedSources.has(from)) {
      if (this.framedSources.size >= MAX_FRAMED_SOURCES) {
        const oldest = this.framedSources.values().next().value as string;
        this.framedSources.delete(oldest);
      }
      this.framedSources.add(from);
    }
    if (this.held.length > 0) this.held = this.held.filter((h) => h.from !== from);
  }

  /**
   * Legacy text arrived. Returns what can be shown now (in order): nothing if it is a framed
   * member's copy or it is being held.
   */
  legacyFrom(from: string, data: Uint8Array, now: number): HeldLegacy[] {
    if (this.framedSources.has(from)) return [];
    const ready = this.due(now);
    if (this.held.length >= MAX_HELD) return [...ready, ...this.shown([{ from, data }], now)];
    this.held.push({ from, data, at: now + LEGACY_HOLD_MS });
    return ready;
  }

  /** Held legacy text whose hold is over, in arrival order. */
  due(now: number): HeldLegacy[] {
    let i = 0;
    while (i < this.held.length && (this.held[i]?.at ?? 0) <= now) i++;
    if (i === 0) return [];
    return this.shown(this.held.splice(0, i), now);
  }

  get deadline(): number | undefined {
    return this.held[0]?.at;
  }

  private shown(items: HeldLegacy[], now: number): HeldLegacy[] {
    if (items.length > 0) this.heardAt = now;
    return items.map(({ from, data }) => ({ from, data }));
  }
}
