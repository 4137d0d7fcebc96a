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
