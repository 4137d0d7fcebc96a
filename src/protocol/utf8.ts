import { DecodeError, type DecodeErrorReason } from "./decode-error.ts";

/** Shared UTF-8 codecs. `ignoreBOM: true` keeps a leading U+FEFF instead of stripping it. */
export const utf8Encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decode; invalid bytes throw DecodeError(reason). */
export function decodeUtf8(bytes: Uint8Array, reason: DecodeErrorReason, what: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw new DecodeError(reason, `${what} is not valid UTF-8`);
  }
}

/** True if the bytes are valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** UTF-8 byte length of a string (a lone surrogate counts as U+FFFD, as TextEncoder writes it). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
