/**
 * Terminal safety for remote text (pure, no I/O).
 *
 * Anything a peer sends is shown through here, so a datagram can never move the
 * cursor, set the window title, write the clipboard (OSC 52), reorder text with
 * bidi controls or split itself into fake lines.
 *
 * Escape scheme (one readable form per character, like `cat -v`):
 * - C0 controls U+0000–U+001F (except TAB and line breaks) → caret notation:
 *   NUL `^@`, ESC `^[`, a lone CR `^M`, BEL `^G` …
 * - DEL U+007F → `^?`
 * - C1 controls U+0080–U+009F → `\x9b` (backslash, x, two lowercase hex digits)
 * Line breaks: LF, CRLF, U+2028 and U+2029 start a new display line.
 * Removed: bidi controls (U+202A–202E, U+2066–2069, U+200E, U+200F, U+061C) and
 * other invisible format characters usable for spoofing or hidden text
 * (U+200B, U+2060–2064, U+206A–206F, U+FEFF, U+FFF9–FFFB, tags U+E0000–E007F).
 * ZWJ/ZWNJ stay (emoji and several scripts need them).
 * Lone surrogates become U+FFFD. Runs of more than 8 combining marks are cut to 8
 * ("zalgo" text spilling over neighbouring lines).
 */

import { MAX_NICK_BYTES } from "../protocol/constants.ts";

export interface SanitizeOptions {
  /** Maximum characters (code points, escapes counted as shown) per line. Default 2000. */
  maxLength?: number;
  /** Maximum number of lines; the rest is summarised in one line. Default 200. */
  maxLines?: number;
}

export const DEFAULT_MAX_LENGTH = 2000;
export const DEFAULT_MAX_LINES = 200;
const ELLIPSIS = "…";
const MAX_COMBINING = 8;

const LINE_BREAK = /\r\n|\n|\u2028|\u2029/;
const REMOVED =
  /[\u061C\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u206A-\u206F\uFEFF\uFFF9-\uFFFB\u{E0000}-\u{E007F}]/gu;
const COMBINING_RUN = new RegExp(`(\\p{M}{${MAX_COMBINING}})\\p{M}+`, "gu");

/** The visible form of one control character, or undefined if it is shown as is. */
export function escapeControl(cp: number): string | undefined {
  if (cp === 0x09) return undefined;
  if (cp < 0x20) return `^${String.fromCharCode(cp + 0x40)}`;
  if (cp === 0x7f) return "^?";
  if (cp >= 0x80 && cp <= 0x9f) return `\\x${cp.toString(16)}`;
  return undefined;
}

/** Removes invisible/bidi characters, repairs surrogates, trims combining runs. */
function clean(text: string): string {
  return text.toWellFormed().replace(REMOVED, "").replace(COMBINING_RUN, "$1");
}

/** Escapes controls in one line; a line over `max` shown characters is cut to `max` ending in "…". */
function renderLine(line: string, max: number): string {
  const pieces: string[] = [];
  let shown = 0;
  for (const ch of line) {
    const piece = escapeControl(ch.codePointAt(0) ?? 0) ?? ch;
    pieces.push(piece);
    shown += piece === ch ? 1 : piece.length;
  }
  if (shown <= max) return pieces.join("");
  let out = "";
  let used = 0;
  for (const piece of pieces) {
    const width = [...piece].length;
    if (used + width > max - 1) break;
    out += piece;
    used += width;
  }
  return out + ELLIPSIS;
}

/**
 * Remote text → safe display lines. Never returns an empty array (an empty text is
 * one empty line). No returned line contains C0 (but TAB), DEL, C1, bidi controls,
 * U+2028/2029 or lone surrogates.
 */
export function sanitizeForTerminal(text: string, opts: SanitizeOptions = {}): string[] {
  const maxLength = Math.max(1, opts.maxLength ?? DEFAULT_MAX_LENGTH);
  const maxLines = Math.max(1, opts.maxLines ?? DEFAULT_MAX_LINES);
  const raw = clean(text).split(LINE_BREAK);
  const lines = raw.length > maxLines ? raw.slice(0, maxLines - 1) : raw;
  const out = lines.map((l) => renderLine(l, maxLength));
  // The marker is held to the same width as the lines: a short form where the long one
  // does not fit, cut only where neither does.
  if (raw.length > maxLines) {
    const n = raw.length - lines.length;
    const long = `[… ${n} more lines]`;
    const short = `[+${n}]`;
    out.push([...long].length <= maxLength ? long : renderLine(short, maxLength));
  }
  return out;
}

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Escapes controls in one line (no length limit). */
function escapeLine(line: string): string {
  let out = "";
  for (const ch of line) out += escapeControl(ch.codePointAt(0) ?? 0) ?? ch;
  return out;
}

/**
 * Escapes controls in one line and cuts it to at most `max` UTF-8 bytes as shown,
 * ending in "…" when cut, between whole characters: grapheme clusters, so an emoji
 * with its modifiers or a letter with its accents goes whole, and an escape like `^[`
 * is never split.
 */
function renderBytes(line: string, max: number): string {
  const whole = escapeLine(line);
  if (byteLength(whole) <= max) return whole;
  const room = max - byteLength(ELLIPSIS);
  let out = "";
  let used = 0;
  for (const { segment } of graphemes.segment(line)) {
    const shown = escapeLine(segment);
    const n = byteLength(shown);
    if (used + n > room) break;
    out += shown;
    used += n;
  }
  return out + ELLIPSIS;
}

/**
 * Invisible characters a nick has no use for: every Default_Ignorable_Code_Point (soft hyphen,
 * Hangul fillers U+115F/U+1160/U+3164/U+FFA0, CGJ, Mongolian selectors…) but ZWJ, ZWNJ and
 * the variation selectors, which shape emoji and some scripts. Terminals disagree on how wide
 * these are (a soft hyphen shows as "-" in some, as nothing in others; a Hangul filler as a
 * blank): dropped, `alice` plus a filler shows as `alice`, and gets the `#id` suffix when
 * `alice` is present (nick-skeleton.ts).
 */
const NICK_INVISIBLE =
  /(?!\u200C|\u200D|[\uFE00-\uFE0F\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/gu;

/**
 * A nickname made safe for one line: controls are escaped as above, whitespace is trimmed
 * and any left inside (line breaks, TABs, spaces: mcchat never sends a nick with them) shows
 * as "_", so a crafted nick cannot make `<alice> ok, run it <bob>` look like two speakers'
 * words; invisible characters (NICK_INVISIBLE) are dropped; at most MAX_NICK_BYTES (32) bytes of
 * UTF-8 as shown, the wire's nick limit (the last character "…" when cut, never half a
 * character). An empty result becomes "?".
 */
export function sanitizeNick(nick: string): string {
  const flat = clean(nick)
    .replace(NICK_INVISIBLE, "")
    .replace(/\r\n|[\n\t\u2028\u2029]/g, " ")
    .trim()
    .replace(/\s/g, "_");
  const out = renderBytes(flat, MAX_NICK_BYTES);
  return out === "" ? "?" : out;
}
