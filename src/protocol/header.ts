import { HEADER_LENGTH, MAGIC_0, MAGIC_1, PROTOCOL_VERSION } from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { idFromBytes, idToBytes } from "./instance-id.ts";

/** The fixed 17-byte header, as decoded. `type` is the raw wire code. */
export interface Header {
  version: number;
  type: number;
  flags: number;
  id: string;
  seq: number;
}

/**
 * True if the datagram starts with the v1+ magic 0xFF 0x4D. Anything else is a legacy (raw
 * text) datagram. A framed datagram that then fails to decode is damaged or from a newer
 * version: drop it, do NOT show it as legacy text.
 */
export function isFramed(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === MAGIC_0 && bytes[1] === MAGIC_1;
}

export function writeHeader(w: Writer, type: number, flags: number, id: string, seq: number): void {
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(PROTOCOL_VERSION);
  w.u8(type);
  w.u8(flags);
  w.bytes(idToBytes(id));
  w.u32(seq);
}

/** Reads and checks magic and version; the type code is returned unchecked. */
export function readHeader(r: Reader): Header {
  const m0 = r.u8("magic");
  const m1 = r.u8("magic");
  if (m0 !== MAGIC_0 || m1 !== MAGIC_1) throw new DecodeError("not-framed", "no magic 0xFF 0x4D");
  const version = r.u8("version");
  if (version !== PROTOCOL_VERSION) {
    throw new DecodeError("unsupported-version", `version ${version}`);
  }
  const type = r.u8("type");
  const flags = r.u8("flags");
  const id = idFromBytes(r.bytes(8, "instance id"));
  const seq = r.u32("seq");
  return { version, type, flags, id, seq };
}

export { HEADER_LENGTH };
