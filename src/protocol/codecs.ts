/**
 * Body codecs, one per frame type (dns-packet style triad: encodingLength / encode / decode).
 * The header is handled by header.ts and frame.ts; these only see the bytes after it.
 */
import {
  checkFragment,
  checkRanges,
  checkUint,
  encNick,
  invalid,
  readNick,
  readRanges,
  readReportEntries,
  reportEntriesLength,
  writeNick,
  writeRanges,
  writeReportEntries,
} from "./body-fields.ts";
import { Flag, MAX_FRAGMENT_PAYLOAD, MAX_FRAGMENTS, PresenceFlag, TypeCode } from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import type { Header } from "./header.ts";
import { idFromBytes, idToBytes, isInstanceId } from "./instance-id.ts";
import type {
  ByeFrame,
  Frame,
  GoneFrame,
  HeartbeatFrame,
  HelloFrame,
  HistoryReqFrame,
  MessageFrame,
  NackFrame,
  ReportFrame,
} from "./types.ts";
import { decodeUtf8, isValidUtf8 } from "./utf8.ts";

export interface BodyCodec<F extends Frame> {
  /** Wire type code. */
  code: number;
  /** Header flags byte for this frame. */
  flags(frame: F): number;
  /** Body length in bytes (header excluded). Throws RangeError on an invalid frame. */
  encodingLength(frame: F): number;
  /** Writes the body. Call encodingLength first: it is what validates the frame. */
  encode(frame: F, w: Writer): void;
  /** Reads the body (the header is already read). Throws only DecodeError. */
  decode(r: Reader, h: Header): F;
}

// ---- HELLO / HEARTBEAT / BYE: body = nick, age u48 ----

function presence<F extends HelloFrame | HeartbeatFrame | ByeFrame>(type: F["type"]): BodyCodec<F> {
  const check = (f: F): Uint8Array => {
    const nick = encNick(type, f.nick);
    checkUint(type, "age", f.age, 2 ** 48 - 1);
    return nick;
  };
  return {
    code: TypeCode[type],
    flags: (f) => (f.reportWanted ? PresenceFlag.reportWanted : 0) | (f.compat ? Flag.compat : 0),
    encodingLength: (f) => 1 + check(f).length + 6,
    encode(f, w) {
      writeNick(w, check(f));
      w.u48(f.age);
    },
    decode(r, h) {
      const nick = readNick(r);
      const age = r.u48("age");
      const frame = { type, id: h.id, seq: h.seq, nick, age } as F;
      if (h.flags & PresenceFlag.reportWanted) frame.reportWanted = true;
      if (h.flags & Flag.compat) frame.compat = true;
      return frame;
    },
  };
}

export const hello = presence<HelloFrame>("hello");
export const heartbeat = presence<HeartbeatFrame>("heartbeat");
export const bye = presence<ByeFrame>("bye");

// ---- MESSAGE: nick, time u48, fragIndex u16, fragCount u16, text length u16, text ----

function checkMessage(f: MessageFrame): { nick: Uint8Array } {
  const nick = encNick("message", f.nick);
  checkUint("message", "time", f.time, 2 ** 48 - 1);
  checkUint("message", "fragCount", f.fragCount, MAX_FRAGMENTS, 1);
  checkUint("message", "fragIndex", f.fragIndex, f.fragCount - 1);
  if (!(f.payload instanceof Uint8Array)) invalid("message", "payload must be a Uint8Array");
  if (f.payload.length > MAX_FRAGMENT_PAYLOAD) {
    invalid("message", `payload of ${f.payload.length} bytes > ${MAX_FRAGMENT_PAYLOAD}`);
  }
  if (!isValidUtf8(f.payload)) invalid("message", "payload is not valid UTF-8");
  return { nick };
}

export const message: BodyCodec<MessageFrame> = {
  code: TypeCode.message,
  flags: (f) =>
    (f.action ? Flag.action : 0) |
    (f.repair ? Flag.repair : 0) |
    (f.history ? Flag.history : 0) |
    (f.compat ? Flag.compat : 0),
  encodingLength(f) {
    const { nick } = checkMessage(f);
    return 1 + nick.length + 6 + 2 + 2 + 2 + f.payload.length;
  },
  encode(f, w) {
    const { nick } = checkMessage(f);
    writeNick(w, nick);
    w.u48(f.time);
    w.u16(f.fragIndex);
    w.u16(f.fragCount);
    w.u16(f.payload.length);
    w.bytes(f.payload);
  },
  decode(r, h) {
    const nick = readNick(r);
    const time = r.u48("time");
    const fragIndex = r.u16("fragment index");
    const fragCount = r.u16("fragment count");
    checkFragment(fragIndex, fragCount);
    const len = r.u16("text length");
    if (len > MAX_FRAGMENT_PAYLOAD) {
      throw new DecodeError("bad-text", `text of ${len} bytes > ${MAX_FRAGMENT_PAYLOAD}`);
    }
    const payload = r.bytes(len, "text");
    decodeUtf8(payload, "bad-text", "text");
    const frame: MessageFrame = {
      type: "message",
      id: h.id,
      seq: h.seq,
      nick,
      time,
      fragIndex,
      fragCount,
      action: (h.flags & Flag.action) !== 0,
      repair: (h.flags & Flag.repair) !== 0,
      history: (h.flags & Flag.history) !== 0,
      payload,
    };
    if (h.flags & Flag.compat) frame.compat = true;
    return frame;
  },
};

// ---- NACK: target id (8), ranges ----

export const nack: BodyCodec<NackFrame> = {
  code: TypeCode.nack,
  flags: () => 0,
  encodingLength(f) {
    if (!isInstanceId(f.target)) invalid("nack", `target ${JSON.stringify(f.target)}`);
    checkRanges("nack", f.ranges);
    return 8 + 1 + 6 * f.ranges.length;
  },
  encode(f, w) {
    if (!isInstanceId(f.target)) invalid("nack", `target ${JSON.stringify(f.target)}`);
    checkRanges("nack", f.ranges);
    w.bytes(idToBytes(f.target));
    writeRanges(w, f.ranges);
  },
  decode(r, h) {
    const target = idFromBytes(r.bytes(8, "target id"));
    const ranges = readRanges(r);
    return { type: "nack", id: h.id, seq: h.seq, target, ranges };
  },
};

// ---- GONE: ranges ----

export const gone: BodyCodec<GoneFrame> = {
  code: TypeCode.gone,
  flags: (f) => (f.compat ? Flag.compat : 0),
  encodingLength(f) {
    checkRanges("gone", f.ranges);
    return 1 + 6 * f.ranges.length;
  },
  encode(f, w) {
    checkRanges("gone", f.ranges);
    writeRanges(w, f.ranges);
  },
  decode(r, h) {
    const frame: GoneFrame = { type: "gone", id: h.id, seq: h.seq, ranges: readRanges(r) };
    if (h.flags & Flag.compat) frame.compat = true;
    return frame;
  },
};

// ---- HISTORY_REQ: count u16, request id u32 ----

export const historyReq: BodyCodec<HistoryReqFrame> = {
  code: TypeCode.history_req,
  flags: () => 0,
  encodingLength(f) {
    checkUint("history_req", "count", f.count, 0xffff, 1);
    checkUint("history_req", "requestId", f.requestId, 0xffffffff);
    return 2 + 4;
  },
  encode(f, w) {
    w.u16(f.count);
    w.u32(f.requestId);
  },
  decode(r, h) {
    const count = r.u16("count");
    if (count === 0) throw new DecodeError("bad-count", "history request for 0 messages");
    const requestId = r.u32("request id");
    return { type: "history_req", id: h.id, seq: h.seq, count, requestId };
  },
};

// ---- REPORT: count u8, then count × (target id (8), next u32) ----

export const report: BodyCodec<ReportFrame> = {
  code: TypeCode.report,
  flags: () => 0,
  encodingLength: (f) => reportEntriesLength("report", f.entries, false),
  encode(f, w) {
    reportEntriesLength("report", f.entries, false);
    writeReportEntries(w, f.entries, false);
  },
  decode(r, h) {
    return { type: "report", id: h.id, seq: h.seq, entries: readReportEntries(r, false) };
  },
};
