/** The canonical-encoding contract of decode, shared by test/protocol and scripts/fuzz.ts. */
import { Flag, type Frame, PresenceFlag } from "../../src/protocol/index.ts";

/**
 * What a frame `f` decoded from `bytes` must re-encode to: `bytes` with the flag bits its type
 * does not know cleared (decode ignores unknown flags).
 */
export function canonicalBytes(bytes: Uint8Array, f: Frame): Uint8Array {
  const expected = Uint8Array.from(bytes);
  const presence = f.type === "hello" || f.type === "heartbeat" || f.type === "bye";
  const known =
    f.type === "message"
      ? Flag.action | Flag.repair | Flag.history
      : presence
        ? PresenceFlag.reportWanted
        : 0;
  expected[4] = (expected[4] ?? 0) & known;
  return expected;
}
