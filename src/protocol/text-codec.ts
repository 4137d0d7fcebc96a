import iconv from "iconv-lite";

/**
 * Text <-> bytes for the legacy wire format (each datagram one message of raw text
 * in some encoding). Pure: no I/O.
 */

const UTF8 = "utf8";

/** Canonical encoding name, or undefined if iconv-lite does not know it. */
export function normalizeEncoding(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  if (n === "auto") return "auto";
  if (n === "utf8" || n === "utf-8") return UTF8;
  return iconv.encodingExists(n) ? n : undefined;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode received bytes. Trailing NULs are dropped: classic receivers memset their
 * buffer and some senders include the terminator. "auto" = UTF-8 when the bytes are
 * valid UTF-8, else GB18030 (a superset of GBK).
 */
export function decodeText(bytes: Uint8Array, encoding: string): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const body = bytes.subarray(0, end);
  if (encoding === "auto") {
    try {
      return utf8Fatal.decode(body);
    } catch {
      return iconv.decode(Buffer.from(body), "gb18030");
    }
  }
  if (encoding === UTF8) return new TextDecoder("utf-8").decode(body);
  return iconv.decode(Buffer.from(body), encoding);
}

/**
 * For sending, "auto" means GBK: the classic program mcchat descends from is a GBK program
 * (a session resolves "auto" per room with CopyEncoding before it sends; this is the fallback).
 */
function sendEncoding(encoding: string): string {
  return encoding === "auto" ? "gbk" : encoding;
}

/** What a received legacy datagram says about its sender's encoding. */
export type HeardEncoding = "ascii" | "utf8" | "gbk" | "unknown";

/**
 * Classify legacy text (trailing NULs ignored): plain ASCII says nothing; valid UTF-8 with
 * non-ASCII bytes is "utf8"; otherwise text that GB18030 (a superset of GBK) reads and writes
 * back byte for byte is "gbk"; anything else "unknown".
 */
export function heardEncoding(bytes: Uint8Array): HeardEncoding {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const body = bytes.subarray(0, end);
  if (body.every((b) => b < 0x80)) return "ascii";
  try {
    utf8Fatal.decode(body);
    return "utf8";
  } catch {
    const buf = Buffer.from(body);
    const text = iconv.decode(buf, "gb18030");
    if (!text.includes("\ufffd") && iconv.encode(text, "gb18030").equals(buf)) return "gbk";
    return "unknown";
  }
}

function encodeChar(ch: string, encoding: string): Buffer {
  return iconv.encode(ch, encoding, { addBOM: false });
}

/**
 * Characters of `text` that `encoding` cannot represent (iconv-lite would silently
 * turn them into "?"), each listed once, in order of appearance.
 */
export function unencodableChars(text: string, encoding: string): string[] {
  const enc = sendEncoding(encoding);
  if (enc === UTF8) return [];
  // Fast path: whole-string round trip.
  if (iconv.decode(iconv.encode(text, enc), enc) === text) return [];
  const bad: string[] = [];
  for (const ch of new Set(text)) {
    if (ch === "?") continue;
    if (iconv.decode(encodeChar(ch, enc), enc) !== ch) bad.push(ch);
  }
  return bad;
}

/** Encode text as one byte string (unencodable characters become "?"). */
export function encodeText(text: string, encoding: string): Uint8Array {
  const enc = sendEncoding(encoding);
  if (enc === UTF8) return new TextEncoder().encode(text);
  return new Uint8Array(iconv.encode(text, enc));
}

/**
 * Encode `text` into chunks of at most `maxBytes` bytes each, split only between
 * characters (code points), never inside a multi-byte sequence. Classic receivers
 * read into a 1,024-byte buffer and NUL-terminate, hence the default of 1,023.
 */
export function encodeChunks(text: string, encoding: string, maxBytes = 1023): Uint8Array[] {
  if (maxBytes < 4) throw new RangeError("maxBytes must be at least 4");
  const enc = sendEncoding(encoding);
  const whole = encodeText(text, enc);
  if (whole.length <= maxBytes) return [whole];
  const chunks: Uint8Array[] = [];
  const widths = new Map<string, number>();
  let start = 0; // index into `text` (UTF-16 units) where the current chunk starts
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    let w = widths.get(ch);
    if (w === undefined) {
      w = encodeText(ch, enc).length;
      widths.set(ch, w);
    }
    if (bytes + w > maxBytes && i > start) {
      chunks.push(encodeText(text.slice(start, i), enc));
      start = i;
      bytes = 0;
    }
    bytes += w;
    i += ch.length;
  }
  if (i > start) chunks.push(encodeText(text.slice(start, i), enc));
  return chunks;
}
