import { MAX_NICK_BYTES } from "./constants.ts";
import { utf8Encoder } from "./utf8.ts";

/**
 * Validates a nick for the wire and returns its UTF-8 bytes: 1..MAX_NICK_BYTES bytes, no lone
 * surrogates. Throws a plain Error with a message fit for the user (config/cli can wrap it).
 * Control characters are NOT rejected here; renderers must neutralise them.
 */
export function nickBytes(nick: string): Uint8Array {
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
