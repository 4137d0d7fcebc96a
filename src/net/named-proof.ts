/**
 * The second way a run proves it is live now (PROTOCOL.md §10.7, "Bound to something heard"):
 * one of its verified frames names one of our instance ids. Our instance id is random per run
 * and first went out when this run started, under a key salt that is fresh too, so no datagram
 * captured before we joined can carry it. Receiver feedback names the sender it is about: NACK
 * and REPORT (§4), STREAM_NACK and STREAM_REPORT (§12.3). A mcchat 0.3 member sends a
 * STREAM_REPORT about a newcomer's stream 0 as soon as it hears the newcomer's first PRESENCE
 * (measured: 1 ms after it, also for a `--listen` newcomer), and NACKs name whom they ask;
 * that is how members without FRESH (§10.7) prove themselves.
 *
 * Pure: parses with the protocol's own decoder, and nothing from the wire throws.
 */
import { HEADER_LENGTH, MAGIC_0, MAGIC_1, TypeCode } from "../protocol/constants.ts";
import { tryDecode } from "../protocol/frame.ts";
import type { Frame } from "../protocol/types.ts";

/**
 * A run proven by naming us: its frames held from before the proof are shown only if their
 * counter is at most this far below the proving frame's, and its window's floor is set there.
 * A 0.3 member names us within a few datagrams of hearing us (its report is sent at once), so
 * what it sealed since we joined is within reach; older frames of that run, injected into the
 * hold from a capture, are not (those of its sends we miss that way are repaired as usual).
 */
export const NAMED_PROOF_REACH = 64n;

/** The types whose body names another member (the one the feedback is about). */
const NAMING_TYPES: ReadonlySet<number> = new Set([
  TypeCode.nack,
  TypeCode.report,
  TypeCode.stream_nack,
  TypeCode.stream_report,
]);

/** The instance ids `frame` names in its body (not its sender's own header id). */
function named(frame: Frame): string[] {
  switch (frame.type) {
    case "nack":
    case "stream_nack":
      return [frame.target];
    case "report":
    case "stream_report":
      return frame.entries.map((e) => e.target);
    default:
      return [];
  }
}

/**
 * True if the inner v1 frame `inner` (opened from a sealed datagram) names one of `ids` in its
 * body. Anything that does not decode names nobody.
 */
export function namesOneOf(inner: Uint8Array, ids: ReadonlySet<string>): boolean {
  if (ids.size === 0 || inner.length < HEADER_LENGTH) return false;
  if (inner[0] !== MAGIC_0 || inner[1] !== MAGIC_1 || !NAMING_TYPES.has(inner[3] as number)) {
    return false;
  }
  const frame = tryDecode(inner);
  return frame !== undefined && named(frame).some((id) => ids.has(id));
}
