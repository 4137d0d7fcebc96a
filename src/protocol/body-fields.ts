/**
 * Fields shared by the body codecs of several frame types (v1 and v1.1): nicks, seq ranges,
 * and the encoder-side checks (RangeError: a bug in the caller, not bad input from the net).
 */
import { MAX_NICK_BYTES, MAX_RANGES } from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { nickBytes } from "./nick.ts";
import type { SeqRange } from "./types.ts";
import { decodeUtf8 } from "./utf8.ts";

export function invalid(type: string, what: string): never {
  throw new RangeError(`invalid ${type} frame: ${what}`);
}

export function checkUint(type: string, what: string, v: unknown, max: number, min = 0): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    invalid(type, `${what} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

export function encNick(type: string, nick: string): Uint8Array {
  try {
    return nickBytes(nick);
  } catch (e) {
    return invalid(type, (e as Error).message);
  }
}

export function checkRanges(type: string, ranges: SeqRange[]): void {
  if (!Array.isArray(ranges) || ranges.length < 1 || ranges.length > MAX_RANGES) {
    invalid(type, `ranges must hold 1..${MAX_RANGES} ranges`);
  }
  for (const r of ranges) {
    checkUint(type, "range start", r.start, 0xffffffff);
    checkUint(type, "range count", r.count, 0xffff, 1);
  }
}

export function readNick(r: Reader): string {
  const len = r.u8("nick length");
  if (len < 1 || len > MAX_NICK_BYTES) {
    throw new DecodeError("bad-nick", `nick length ${len} not in 1..${MAX_NICK_BYTES}`);
  }
  return decodeUtf8(r.bytes(len, "nick"), "bad-nick", "nick");
}

export function readRanges(r: Reader): SeqRange[] {
  const n = r.u8("range count");
  if (n < 1 || n > MAX_RANGES) {
    throw new DecodeError("bad-ranges", `${n} ranges, expected 1..${MAX_RANGES}`);
  }
  const ranges: SeqRange[] = [];
  for (let i = 0; i < n; i++) {
    const start = r.u32("range start");
    const count = r.u16("range count");
    if (count === 0) throw new DecodeError("bad-ranges", "range of 0 seqs");
    ranges.push({ start, count });
  }
  return ranges;
}

export function writeRanges(w: Writer, ranges: SeqRange[]): void {
  w.u8(ranges.length);
  for (const { start, count } of ranges) {
    w.u32(start);
    w.u16(count);
  }
}

/** Writes a nick's length and bytes (from encNick). */
export function writeNick(w: Writer, nick: Uint8Array): void {
  w.u8(nick.length);
  w.bytes(nick);
}
