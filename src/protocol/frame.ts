import { codecByCode, codecs } from "./codec-registry.ts";
import type { BodyCodec } from "./codecs.ts";
import { HEADER_LENGTH } from "./constants.ts";
import { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { isFramed, readHeader, writeHeader } from "./header.ts";
import { isInstanceId } from "./instance-id.ts";
import type { Frame } from "./types.ts";

function codecOf(frame: Frame): BodyCodec<Frame> {
  const codec = (codecs as Record<string, BodyCodec<Frame> | undefined>)[frame?.type];
  if (!codec) throw new RangeError(`invalid frame: unknown type ${JSON.stringify(frame?.type)}`);
  return codec;
}

function checkHeader(frame: Frame): void {
  if (!isInstanceId(frame.id)) {
    throw new RangeError(`invalid ${frame.type} frame: id ${JSON.stringify(frame.id)}`);
  }
  const { seq } = frame;
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) {
    throw new RangeError(`invalid ${frame.type} frame: seq ${String(seq)} is not a u32`);
  }
}

/** Total encoded size of the frame in bytes. Throws RangeError if the frame is invalid. */
export function encodingLength(frame: Frame): number {
  const codec = codecOf(frame);
  checkHeader(frame);
  return HEADER_LENGTH + codec.encodingLength(frame);
}

/**
 * Encodes one frame into a new datagram. Throws RangeError if the frame is invalid (bad id,
 * seq, nick, payload > 1,200 bytes, ...): that is a bug in the caller, never a network error.
 */
export function encode(frame: Frame): Uint8Array {
  const codec = codecOf(frame);
  const w = new Writer(encodingLength(frame));
  writeHeader(w, codec.code, codec.flags(frame), frame.id, frame.seq);
  codec.encode(frame, w);
  return w.finish();
}

/**
 * Decodes one datagram. Throws DecodeError, and nothing else, for any input that is not exactly
 * one valid v1 frame. Unknown flag bits are ignored. The result never aliases `bytes`.
 */
export function decode(bytes: Uint8Array): Frame {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("not-framed", "not a byte array");
  if (!isFramed(bytes)) throw new DecodeError("not-framed", "no magic 0xFF 0x4D");
  try {
    const r = new Reader(bytes);
    const header = readHeader(r);
    const codec = codecByCode.get(header.type);
    if (!codec) throw new DecodeError("unknown-type", `type 0x${header.type.toString(16)}`);
    const frame = codec.decode(r, header);
    r.end();
    return frame;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // Unreachable by design; keeps the "only DecodeError" contract even if a bug slips in.
    throw new DecodeError("truncated", `internal decoder error: ${String(e)}`);
  }
}

/** `decode`, for callers that only need to know whether the bytes are a valid frame: undefined if not. */
export function tryDecode(bytes: Uint8Array): Frame | undefined {
  try {
    return decode(bytes);
  } catch {
    return undefined; // decode throws DecodeError and nothing else
  }
}
