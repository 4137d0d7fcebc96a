import { MAX_FRAGMENT_PAYLOAD, MAX_MESSAGE_BYTES, MAX_RECORD_BYTES } from "./constants.ts";
import { decodeUtf8, utf8Encoder as encoder } from "./utf8.ts";

/**
 * UTF-8 byte length of a message, if it is at most MAX_MESSAGE_BYTES; otherwise throws a plain
 * Error with a message fit for the user (the caller wraps it, e.g. in a UserError or a warning).
 */
export function checkMessageSize(text: string): number {
  const n = encoder.encode(text).length;
  if (n > MAX_MESSAGE_BYTES) {
    throw new Error(
      `message too long: ${n} bytes of UTF-8, the limit is ${MAX_MESSAGE_BYTES} bytes`,
    );
  }
  return n;
}

/**
 * Splits a message into fragment payloads of at most `maxPayload` UTF-8 bytes each, never
 * inside a code point, so each fragment is valid UTF-8 by itself. Always returns at least one
 * fragment (an empty text gives one empty fragment). Does not check MAX_MESSAGE_BYTES: call
 * checkMessageSize first. Lone surrogates become U+FFFD (TextEncoder).
 */
export function fragmentText(text: string, maxPayload = MAX_FRAGMENT_PAYLOAD): Uint8Array[] {
  if (!Number.isInteger(maxPayload) || maxPayload < 4) {
    throw new RangeError(`maxPayload must be an integer >= 4, got ${maxPayload}`);
  }
  const bytes = encoder.encode(text);
  const parts: Uint8Array[] = [];
  let start = 0;
  while (bytes.length - start > maxPayload) {
    let end = start + maxPayload;
    // Back off while bytes[end] is a continuation byte (10xxxxxx): end must start a code point.
    while (((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(bytes.slice(start, end));
    start = end;
  }
  parts.push(bytes.slice(start));
  return parts;
}

/**
 * Joins the payloads of all fragments of one message, in fragment order, into its text.
 * Throws DecodeError("bad-text") if the bytes are not valid UTF-8 (never for payloads that
 * came out of `decode`, which validates each fragment).
 */
export function joinFragments(parts: Uint8Array[]): string {
  return decodeUtf8(joinBody(parts), "bad-text", "message text");
}

/**
 * Splits a record's body (v1.1, any bytes) into fragment payloads of at most MAX_FRAGMENT_PAYLOAD
 * bytes; an empty body is one empty fragment. Throws RangeError past MAX_RECORD_BYTES (a caller
 * bug: the record's kind bounds its body).
 */
export function fragmentBody(body: Uint8Array): Uint8Array[] {
  if (body.length > MAX_RECORD_BYTES) {
    throw new RangeError(`record body of ${body.length} bytes > ${MAX_RECORD_BYTES}`);
  }
  // Most records are one fragment: the body itself, no view made of it.
  if (body.length <= MAX_FRAGMENT_PAYLOAD) return [body];
  const parts: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += MAX_FRAGMENT_PAYLOAD) {
    parts.push(body.subarray(at, at + MAX_FRAGMENT_PAYLOAD));
  }
  return parts;
}

/** The body of a record from its fragments' payloads, in order. */
export function joinBody(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let total = 0;
  for (const p of parts) total += p.length;
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
