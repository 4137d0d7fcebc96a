/** The canonical-encoding contract of decode, shared by test/protocol and scripts/fuzz.ts. */
import { Flag, type Frame, PresenceFlag, PresenceOption } from "../../src/protocol/index.ts";

/** Flag bits each frame type knows; decode ignores the others. */
function knownFlags(f: Frame): number {
  switch (f.type) {
    case "message":
      return Flag.action | Flag.repair | Flag.history | Flag.compat;
    case "hello":
    case "heartbeat":
    case "bye":
      return PresenceFlag.reportWanted | Flag.compat;
    case "gone":
      return Flag.compat;
    case "record":
      return Flag.repair | Flag.history;
    case "presence":
      return PresenceFlag.reportWanted | PresenceFlag.allReport;
    default:
      return 0;
  }
}

/**
 * What a frame `f` decoded from `bytes` must re-encode to: `bytes` with the flag bits its type
 * does not know cleared (decode ignores unknown flags); for a v1.1 PRESENCE also with the
 * options it does not know dropped and the others in the encoder's order (STREAM options as
 * they came, then KINDS, FEEDBACK options as they came, INTERVAL), read here from the bytes,
 * independently of the codec.
 */
export function canonicalBytes(bytes: Uint8Array, f: Frame): Uint8Array {
  const expected = Uint8Array.from(bytes);
  expected[4] = (expected[4] ?? 0) & knownFlags(f);
  if (f.type !== "presence") return expected;
  const nickLen = expected[18] ?? 0;
  const countAt = 19 + nickLen + 6;
  let at = countAt + 1;
  const streams: Uint8Array[] = [];
  const kinds: Uint8Array[] = [];
  const feedback: Uint8Array[] = [];
  const interval: Uint8Array[] = [];
  for (let i = 0; i < (expected[countAt] ?? 0); i++) {
    const type = expected[at] ?? 0;
    const len = expected[at + 1] ?? 0;
    const option = expected.subarray(at, at + 2 + len);
    if (type === PresenceOption.stream) streams.push(option);
    else if (type === PresenceOption.kinds) kinds.push(option);
    else if (type === PresenceOption.feedback) feedback.push(option);
    else if (type === PresenceOption.interval) interval.push(option);
    at += 2 + len;
  }
  return Uint8Array.from([
    ...expected.subarray(0, countAt),
    streams.length + kinds.length + feedback.length + interval.length,
    ...streams.flatMap((o) => [...o]),
    ...kinds.flatMap((o) => [...o]),
    ...feedback.flatMap((o) => [...o]),
    ...interval.flatMap((o) => [...o]),
  ]);
}
