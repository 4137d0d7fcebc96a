/**
 * "A run not proven live yet speaks v1" (PROTOCOL.md §10.7, "mcchat 0.2 (wire 1.0)"): a hint
 * the sealed layer gives the session; it shows nothing and delivers nothing.
 *
 * A mcchat 0.2 member reads only v1 frames and answers neither a FRESH challenge nor our
 * v1.1 frames; it names us (a REPORT about us, which proves its run: named-proof.ts) only
 * once it hears our v1 view (§12.6), which the session sends only while a 0.2 member is
 * present. Its sealed v1 HELLO/HEARTBEAT (no COMPAT flag: a v1.1 member's v1 view carries
 * it) is held unproven, so the session would never see it: this hint breaks that circle. The
 * session speaks v1 for a while (src/session/compat/v1-view.ts), a real 0.2 member reports on
 * it, and its run is proven and shown. A replayed capture of a 0.2 run can only make us send
 * our v1 presence for a while: at most one hint per LEGACY_HINT_GAP_MS.
 */
import { Flag, HEADER_LENGTH, MAGIC_0, MAGIC_1, TypeCode } from "../protocol/constants.ts";
import { tryDecode } from "../protocol/frame.ts";
import type { Scheduler } from "../session/scheduler.ts";

/** Hints given at most this often (ms), whatever the wire sends. */
export const LEGACY_HINT_GAP_MS = 1000;
/** Listeners kept (the session registers one). */
const MAX_LISTENERS = 8;

/**
 * True if the inner frame `inner` is a well-formed v1 HELLO or HEARTBEAT without the COMPAT
 * flag: the presence of a member that speaks only v1 (mcchat 0.2). Never throws.
 */
export function speaksV1(inner: Uint8Array): boolean {
  if (inner.length < HEADER_LENGTH || inner[0] !== MAGIC_0 || inner[1] !== MAGIC_1) return false;
  const type = inner[3];
  if (type !== TypeCode.hello && type !== TypeCode.heartbeat) return false;
  if (((inner[4] as number) & Flag.compat) !== 0) return false;
  return tryDecode(inner) !== undefined;
}

/** Rate-limited fan-out of the hint to the session's listener(s); a throwing listener is contained. */
export class LegacyHint {
  private readonly listeners: (() => void)[] = [];
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly scheduler: Scheduler) {}

  listen(cb: () => void): void {
    if (this.listeners.length < MAX_LISTENERS) this.listeners.push(cb);
  }

  /** A verified inner frame of a run not proven live yet: hint if it speaks v1 (and the gap allows). */
  unproven(inner: Uint8Array): void {
    const type = inner[3];
    if (type !== TypeCode.hello && type !== TypeCode.heartbeat) return; // cheap first
    const now = this.scheduler.now();
    if (now - this.last < LEGACY_HINT_GAP_MS || !speaksV1(inner)) return;
    this.last = now;
    for (const cb of this.listeners) {
      try {
        cb();
      } catch {
        // a listener's fault never reaches the socket handler
      }
    }
  }
}
