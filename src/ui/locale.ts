/**
 * The terminal's character set as the locale says it (pure), and ASCII stand-ins for the frames
 * and symbols mcchat draws, for a locale that is not UTF-8 (LANG=C, a bare POSIX shell).
 */
import type { Writable } from "node:stream";

/**
 * Whether the locale's character set is UTF-8: the first set one of LC_ALL, LC_CTYPE and
 * LANG decides (as in C's setlocale); none set is the POSIX "C" locale, which is ASCII.
 */
export function utf8Locale(env: Record<string, string | undefined>): boolean {
  const name = [env.LC_ALL, env.LC_CTYPE, env.LANG].find((v) => v !== undefined && v !== "");
  return name !== undefined && /utf-?8/i.test(name);
}

/**
 * Frame and symbol characters → ASCII: clack's own fallbacks (its `unicodeOr` pairs, which it
 * picks from TERM only) and the few symbols mcchat prints itself.
 */
const ASCII_FRAMES: Readonly<Record<string, string>> = {
  "─": "-",
  "━": "=",
  "│": "|",
  "┌": "T",
  "┐": "T",
  "└": "-",
  "┘": "-",
  "├": "+",
  "╭": "+",
  "╮": "+",
  "╯": "+",
  "╰": "+",
  "◆": "*",
  "◇": "o",
  "■": "x",
  "▲": "!",
  "●": ">",
  "○": " ",
  "◻": "[ ]",
  "◼": "[+]",
  "▪": "*",
  "•": "*",
  "█": "_", // clack's cursor at the end of a typed value
  "◒": "o",
  "◐": "o",
  "◓": "o",
  "◑": "o",
  "…": "...",
  "—": "-",
  "→": "->",
};
const FRAME_CHARS = new RegExp(`[${Object.keys(ASCII_FRAMES).join("")}]`, "gu");

/** `text` with frames and symbols drawn in ASCII; everything else unchanged. */
export function asciiFrames(text: string): string {
  return text.replace(FRAME_CHARS, (ch) => ASCII_FRAMES[ch] ?? ch);
}

/**
 * `out` with every string written through asciiFrames; everything else (columns, rows, isTTY,
 * resize events) is the stream's own.
 */
export function asciiFramesOutput<T extends Writable>(out: T): T {
  return new Proxy(out, {
    get(target, prop) {
      if (prop === "write") {
        return (chunk: unknown, ...rest: unknown[]) =>
          Reflect.apply(target.write, target, [
            typeof chunk === "string" ? asciiFrames(chunk) : chunk,
            ...rest,
          ]);
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The one warning a terminal under a non-UTF-8 locale gets. */
export function localeWarning(env: Record<string, string | undefined>): string | undefined {
  if (utf8Locale(env)) return undefined;
  const name = [env.LC_ALL, env.LC_CTYPE, env.LANG].find((v) => v !== undefined && v !== "");
  const which = name === undefined ? "no locale is set" : `the locale (${name}) is not UTF-8`;
  return `${which}: frames are drawn in ASCII, but messages are written as UTF-8 (set LANG=C.UTF-8 if they show as garbage)`;
}
