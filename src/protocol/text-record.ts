/**
 * The body of a TEXT record (kind 0x01, stream 0; PROTOCOL.md §12.4): one chat message.
 *
 *   flags u8 (bit 0 ACTION: a /me action; others reserved, ignored) | nick (length u8, 1..32
 *   UTF-8 bytes) | time u48 (ms since the Unix epoch, the sender's clock) | text (UTF-8, the
 *   rest of the body, 0..MAX_MESSAGE_BYTES bytes)
 *
 * Pure: encode / decode / encodingLength, bounds-checked, DecodeError only.
 */
import { checkUint, encNick, invalid, readNick, writeNick } from "./body-fields.ts";
import { MAX_MESSAGE_BYTES } from "./constants.ts";
import { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { decodeUtf8, utf8Encoder } from "./utf8.ts";

/** One chat message as a TEXT record carries it. */
export interface TextRecord {
  /** A /me action. */
  action: boolean;
  nick: string;
  /** Send time, ms since the Unix epoch (the sender's wall clock; shown, never compared). */
  time: number;
  text: string;
}

const ACTION = 0x01;

function parts(r: TextRecord): { nick: Uint8Array; text: Uint8Array } {
  const nick = encNick("text record", r.nick);
  checkUint("text record", "time", r.time, 2 ** 48 - 1);
  if (typeof r.text !== "string") invalid("text record", "text must be a string");
  const text = utf8Encoder.encode(r.text);
  if (text.length > MAX_MESSAGE_BYTES) {
    invalid("text record", `text of ${text.length} bytes > ${MAX_MESSAGE_BYTES}`);
  }
  return { nick, text };
}

/** Body length in bytes. Throws RangeError for an invalid record (a caller bug). */
export function textRecordLength(r: TextRecord): number {
  const { nick, text } = parts(r);
  return 1 + 1 + nick.length + 6 + text.length;
}

export function encodeTextRecord(r: TextRecord): Uint8Array {
  const { nick, text } = parts(r);
  const w = new Writer(1 + 1 + nick.length + 6 + text.length);
  w.u8(r.action ? ACTION : 0);
  writeNick(w, nick);
  w.u48(r.time);
  w.bytes(text);
  return w.finish();
}

/** Throws DecodeError (bad-nick, bad-text, truncated) and nothing else. */
export function decodeTextRecord(body: Uint8Array): TextRecord {
  try {
    const r = new Reader(body);
    const flags = r.u8("text flags");
    const nick = readNick(r);
    const time = r.u48("time");
    const n = r.remaining;
    if (n > MAX_MESSAGE_BYTES) {
      throw new DecodeError("bad-text", `text of ${n} bytes > ${MAX_MESSAGE_BYTES}`);
    }
    const text = decodeUtf8(r.bytes(n, "text"), "bad-text", "text");
    return { action: (flags & ACTION) !== 0, nick, time, text };
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError("truncated", `internal decoder error: ${String(e)}`);
  }
}
