/**
 * Fields shared by the body codecs of several frame types (v1 and v1.1): nicks, seq ranges,
 * and the encoder-side checks (RangeError: a bug in the caller, not bad input from the net).
 */
import { MAX_FRAGMENTS, MAX_NICK_BYTES, MAX_RANGES, MAX_REPORT_ENTRIES } from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { idFromBytes, idToBytes, isInstanceId } from "./instance-id.ts";
import { nickBytes } from "./nick.ts";
import type { ReportEntry, SeqRange, StreamReportEntry } from "./types.ts";
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

/**
 * REPORT entries (1.0: target id, next u32) and STREAM_REPORT entries (1.1: target id,
 * stream u8, next u32), after a count u8 of 1..MAX_REPORT_ENTRIES. `streams` says which.
 */
export function reportEntriesLength(
  type: string,
  entries: readonly (ReportEntry & { stream?: number })[],
  streams: boolean,
): number {
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_REPORT_ENTRIES) {
    invalid(type, `entries must hold 1..${MAX_REPORT_ENTRIES} entries`);
  }
  for (const e of entries) {
    if (!isInstanceId(e?.target)) invalid(type, `target ${JSON.stringify(e?.target)}`);
    if (streams) checkUint(type, "stream", e.stream, 255);
    checkUint(type, "next", e.next, 0xffffffff);
  }
  return 1 + (streams ? 13 : 12) * entries.length;
}

export function writeReportEntries(
  w: Writer,
  entries: readonly (ReportEntry & { stream?: number })[],
  streams: boolean,
): void {
  w.u8(entries.length);
  for (const { target, stream, next } of entries) {
    w.bytes(idToBytes(target));
    if (streams) w.u8(stream as number);
    w.u32(next);
  }
}

export function readReportEntries(r: Reader, streams: true): StreamReportEntry[];
export function readReportEntries(r: Reader, streams: false): ReportEntry[];
export function readReportEntries(r: Reader, streams: boolean): ReportEntry[] {
  const n = r.u8("entry count");
  if (n < 1 || n > MAX_REPORT_ENTRIES) {
    throw new DecodeError("bad-count", `${n} report entries, expected 1..${MAX_REPORT_ENTRIES}`);
  }
  const entries: (ReportEntry & { stream?: number })[] = [];
  for (let i = 0; i < n; i++) {
    const target = idFromBytes(r.bytes(8, "report target id"));
    if (streams) {
      const stream = r.u8("report stream");
      entries.push({ target, stream, next: r.u32("report next") });
    } else entries.push({ target, next: r.u32("report next") });
  }
  return entries;
}

/** A fragment's index and count, read already: 1 ≤ count ≤ MAX_FRAGMENTS, index < count. */
export function checkFragment(fragIndex: number, fragCount: number): void {
  if (fragCount < 1 || fragCount > MAX_FRAGMENTS) {
    throw new DecodeError("bad-fragment", `fragment count ${fragCount} not in 1..${MAX_FRAGMENTS}`);
  }
  if (fragIndex >= fragCount) {
    throw new DecodeError("bad-fragment", `fragment index ${fragIndex} >= count ${fragCount}`);
  }
}
