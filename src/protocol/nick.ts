import { MAX_NICK_BYTES } from "./constants.ts";
import { utf8Encoder } from "./utf8.ts";

/**
 * Validates a nick for the wire and returns its UTF-8 bytes: 1..MAX_NICK_BYTES bytes, no lone
 * surrogates. Throws a plain Error with a message fit for the user (config/cli can wrap it).
 * Control characters are NOT rejected here; renderers must neutralise them.
 */
export function nickBytes(nick: string): Uint8Array {
  // Every frame carries the nick, and it is encoded for its length and for its bytes: the
  // last one is kept (callers only read the bytes).
  if (nick === last.nick) return last.bytes;
  const bytes = checkedNickBytes(nick);
  last.nick = nick;
  last.bytes = bytes;
  return bytes;
}

const last: { nick: string; bytes: Uint8Array } = { nick: "", bytes: new Uint8Array(0) };

function checkedNickBytes(nick: string): Uint8Array {
  if (typeof nick !== "string" || !nick.isWellFormed()) {
    throw new Error("nick must be a well-formed Unicode string");
  }
  const bytes = utf8Encoder.encode(nick);
  if (bytes.length < 1 || bytes.length > MAX_NICK_BYTES) {
    throw new Error(
      `nick must be 1 to ${MAX_NICK_BYTES} bytes of UTF-8, ${JSON.stringify(nick)} is ${bytes.length}`,
    );
  }
  return bytes;
}
