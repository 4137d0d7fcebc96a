/**
 * Test-only record kinds (experimental codes, PROTOCOL.md §12.1), registered the way a real
 * feature is: one file, and one line where the session's features are listed
 * (`features: [...DEFAULT_FEATURES, probe(seen)]`). PROBE travels in the conversation
 * (stream 0) among text records; BULK in the bulk stream (1). Their body is opaque bytes.
 */
import type { FeatureFactory, RecordKind } from "../../src/session/feature.ts";

export const PROBE_KIND = 0xf0;
export const BULK_KIND = 0xf1;

/** A delivered test record: who sent it, where, and its body. */
export interface SeenRecord {
  kind: number;
  id: string;
  stream: number;
  seq: number;
  body: Uint8Array;
}

const kind = (
  code: number,
  name: string,
  stream: number,
  seen: SeenRecord[],
): RecordKind<Uint8Array> => ({
  code,
  name,
  stream,
  encode: (v) => v,
  decode: (b) => b,
  deliver: (body, from) => {
    seen.push({ kind: code, id: from.peer.id, stream: from.stream, seq: from.seq, body });
  },
});

/** The PROBE (stream 0) and BULK (stream 1) kinds; deliveries are pushed to `seen`. */
export function probe(seen: SeenRecord[] = []): FeatureFactory {
  return () => ({
    name: "probe",
    kinds: [
      kind(PROBE_KIND, "probe", 0, seen) as RecordKind,
      kind(BULK_KIND, "bulk", 1, seen) as RecordKind,
    ],
  });
}
