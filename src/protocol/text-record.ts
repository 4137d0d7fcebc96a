/**
 * The body of a TEXT record (kind 0x01, stream 0; PROTOCOL.md §12.4): one chat message.
 *
 *   flags u8 (bit 0 ACTION: a /me action; others reserved, ignored) | nick (length u8, 1..32
 *   UTF-8 bytes) | time u48 (ms since the Unix epoch, the sender's clock) | text (UTF-8, the
 *   rest of the body, 0..MAX_MESSAGE_BYTES bytes)
 *
 * Pure: encode / decode / encodingLength, bounds-checked, DecodeError only.
 */
import { checkUint, encNick, invalid, writeNick } from "./body-fields.ts";
import { MAX_MESSAGE_BYTES, MAX_NICK_BYTES } from "./constants.ts";
import { Writer } from "./cursor.ts";
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

/**
 * Throws DecodeError (bad-nick, bad-text, truncated) and nothing else. Reads the body in place
 * (no copies, no DataView: this runs once per message received).
 */
export function decodeTextRecord(body: Uint8Array): TextRecord {
  if (body.length < 2) throw new DecodeError("truncated", "text record needs flags and a nick");
  const flags = body[0] as number;
  const nickLen = body[1] as number;
  if (nickLen < 1 || nickLen > MAX_NICK_BYTES) {
    throw new DecodeError("bad-nick", `nick length ${nickLen} not in 1..${MAX_NICK_BYTES}`);
  }
  const timeAt = 2 + nickLen;
  if (body.length < timeAt + 6) throw new DecodeError("truncated", "text record: nick and time");
  const nick = decodeUtf8(body.subarray(2, timeAt), "bad-nick", "nick");
  let time = 0;
  for (let i = 0; i < 6; i++) time = time * 256 + (body[timeAt + i] as number);
  const n = body.length - timeAt - 6;
  if (n > MAX_MESSAGE_BYTES) {
    throw new DecodeError("bad-text", `text of ${n} bytes > ${MAX_MESSAGE_BYTES}`);
  }
  const text = decodeUtf8(body.subarray(timeAt + 6), "bad-text", "text");
  return { action: (flags & ACTION) !== 0, nick, time, text };
}
