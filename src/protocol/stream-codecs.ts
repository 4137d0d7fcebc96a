/**
 * Body codecs of the v1.1 frame types (PROTOCOL.md §12): PRESENCE, RECORD and the stream forms
 * of NACK, GONE and REPORT. Same triad as codecs.ts (encodingLength / encode / decode); the
 * header is handled by header.ts and frame.ts.
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
import type { BodyCodec } from "./codecs.ts";
import {
  Flag,
  MAX_FRAGMENT_PAYLOAD,
  MAX_FRAGMENTS,
  MAX_NAMED_REPORTERS,
  MAX_PRESENCE_STREAMS,
  MAX_RUNS,
  PresenceFlag,
  PresenceOption,
  PresencePhase,
  TypeCode,
} from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import { DecodeError } from "./decode-error.ts";
import { idFromBytes, idToBytes, isInstanceId } from "./instance-id.ts";
import type {
  KindRun,
  PresenceFrame,
  RecordFrame,
  StreamFeedback,
  StreamGoneFrame,
  StreamNackFrame,
  StreamReportFrame,
  StreamState,
} from "./types.ts";

// ---- kind runs: count u8, then count × (kind u8, seqs u8) ----

function checkRuns(type: string, runs: readonly KindRun[]): void {
  if (!Array.isArray(runs) || runs.length > MAX_RUNS) {
    invalid(type, `runs must hold 0..${MAX_RUNS} runs`);
  }
  for (const r of runs) {
    checkUint(type, "run kind", r.kind, 255, 1);
    checkUint(type, "run count", r.count, 255, 1);
  }
}

function writeRunPairs(w: Writer, runs: readonly KindRun[]): void {
  for (const { kind, count } of runs) {
    w.u8(kind);
    w.u8(count);
  }
}

function readRunPairs(r: Reader, n: number): KindRun[] {
  const runs: KindRun[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.u8("run kind");
    const count = r.u8("run count");
    if (kind === 0 || count === 0) {
      throw new DecodeError("bad-record", `kind run ${kind}×${count}: kind and count must be ≥ 1`);
    }
    runs.push({ kind, count });
  }
  return runs;
}

/** The u32 at `at` of an option value whose length was checked. */
function u32At(v: Uint8Array, at: number): number {
  return (
    (v[at] as number) * 0x1000000 +
    (((v[at + 1] as number) << 16) | ((v[at + 2] as number) << 8) | (v[at + 3] as number))
  );
}

// ---- PRESENCE: phase u8, nick, age u48, option count u8, options (type u8, length u8, value) ----

const PHASES = ["hello", "heartbeat", "bye"] as const;

function streamOptionLength(s: StreamState): number {
  return 1 + 4 + 2 * s.runs.length;
}

function feedbackOptionLength(f: StreamFeedback): number {
  return 1 + 4 + 4 + 8 * f.named.length;
}

/** Options besides STREAM: KINDS, FEEDBACK (one per stream), INTERVAL. */
function optionCount(f: PresenceFrame): number {
  return (
    f.streams.length +
    (f.kinds === undefined ? 0 : 1) +
    (f.feedback?.length ?? 0) +
    (f.intervalMs === undefined ? 0 : 1)
  );
}

function checkPresence(f: PresenceFrame): Uint8Array {
  if (!PHASES.includes(f.phase)) invalid("presence", `phase ${JSON.stringify(f.phase)}`);
  const nick = encNick("presence", f.nick);
  checkUint("presence", "age", f.age, 2 ** 48 - 1);
  if (!Array.isArray(f.streams) || f.streams.length > MAX_PRESENCE_STREAMS) {
    invalid("presence", `streams must hold 0..${MAX_PRESENCE_STREAMS} streams`);
  }
  const seen = new Set<number>();
  for (const s of f.streams) {
    checkUint("presence", "stream", s.stream, 255);
    if (seen.has(s.stream)) invalid("presence", `stream ${s.stream} listed twice`);
    seen.add(s.stream);
    checkUint("presence", "stream tail", s.tail, 0xffffffff);
    checkRuns("presence", s.runs);
  }
  if (f.kinds !== undefined) {
    if (!Array.isArray(f.kinds) || f.kinds.length > 255) invalid("presence", "kinds: 0..255");
    for (const k of f.kinds) checkUint("presence", "kind", k, 255, 1);
  }
  if (f.feedback !== undefined) {
    if (!Array.isArray(f.feedback) || f.feedback.length > MAX_PRESENCE_STREAMS) {
      invalid("presence", `feedback must hold 0..${MAX_PRESENCE_STREAMS} streams`);
    }
    const fed = new Set<number>();
    for (const b of f.feedback) {
      checkUint("presence", "feedback stream", b.stream, 255);
      if (fed.has(b.stream)) invalid("presence", `feedback for stream ${b.stream} twice`);
      fed.add(b.stream);
      checkUint("presence", "floor", b.floor, 0xffffffff);
      checkUint("presence", "watermark", b.watermark, 0xffffffff);
      if (!Array.isArray(b.named) || b.named.length > MAX_NAMED_REPORTERS) {
        invalid("presence", `named must hold 0..${MAX_NAMED_REPORTERS} ids`);
      }
      for (const id of b.named) if (!isInstanceId(id)) invalid("presence", `named id ${id}`);
    }
  }
  if (f.intervalMs !== undefined) checkUint("presence", "interval", f.intervalMs, 0xffffffff, 1);
  if (optionCount(f) > 255) invalid("presence", "more than 255 options");
  return nick;
}

export const presence: BodyCodec<PresenceFrame> = {
  code: TypeCode.presence,
  flags: (f) => (f.reportWanted ? PresenceFlag.reportWanted : 0),
  encodingLength(f) {
    const nick = checkPresence(f);
    let n = 1 + 1 + nick.length + 6 + 1;
    for (const s of f.streams) n += 2 + streamOptionLength(s);
    if (f.kinds !== undefined) n += 2 + f.kinds.length;
    for (const b of f.feedback ?? []) n += 2 + feedbackOptionLength(b);
    if (f.intervalMs !== undefined) n += 2 + 4;
    return n;
  },
  encode(f, w) {
    const nick = checkPresence(f);
    w.u8(PresencePhase[f.phase]);
    writeNick(w, nick);
    w.u48(f.age);
    w.u8(optionCount(f));
    for (const s of f.streams) {
      w.u8(PresenceOption.stream);
      w.u8(streamOptionLength(s));
      w.u8(s.stream);
      w.u32(s.tail);
      writeRunPairs(w, s.runs);
    }
    if (f.kinds !== undefined) {
      w.u8(PresenceOption.kinds);
      w.u8(f.kinds.length);
      for (const k of f.kinds) w.u8(k);
    }
    for (const b of f.feedback ?? []) {
      w.u8(PresenceOption.feedback);
      w.u8(feedbackOptionLength(b));
      w.u8(b.stream);
      w.u32(b.floor);
      w.u32(b.watermark);
      for (const id of b.named) w.bytes(idToBytes(id));
    }
    if (f.intervalMs !== undefined) {
      w.u8(PresenceOption.interval);
      w.u8(4);
      w.u32(f.intervalMs);
    }
  },
  decode(r, h) {
    const code = r.u8("phase");
    const phase = PHASES[code - 1];
    if (phase === undefined) throw new DecodeError("bad-option", `presence phase ${code}`);
    const nick = readNick(r);
    const age = r.u48("age");
    const streams: StreamState[] = [];
    let kinds: number[] | undefined;
    let feedback: StreamFeedback[] | undefined;
    let intervalMs: number | undefined;
    // The count makes a cut-short PRESENCE an error (truncated), not one with fewer options.
    const options = r.u8("option count");
    for (let i = 0; i < options; i++) {
      const type = r.u8("option type");
      const len = r.u8("option length");
      const value = r.bytes(len, "option value");
      if (type === PresenceOption.stream) {
        if (len < 5 || (len - 5) % 2 !== 0 || (len - 5) / 2 > MAX_RUNS) {
          throw new DecodeError("bad-option", `STREAM option of ${len} bytes`);
        }
        if (streams.length >= MAX_PRESENCE_STREAMS) {
          throw new DecodeError("bad-option", `more than ${MAX_PRESENCE_STREAMS} STREAM options`);
        }
        const stream = value[0] as number;
        if (streams.some((s) => s.stream === stream)) {
          throw new DecodeError("bad-option", `stream ${stream} listed twice`);
        }
        const runs: KindRun[] = [];
        for (let i = 5; i < len; i += 2) {
          const kind = value[i] as number;
          const count = value[i + 1] as number;
          if (kind === 0 || count === 0) {
            throw new DecodeError("bad-option", `kind run ${kind}×${count} in a STREAM option`);
          }
          runs.push({ kind, count });
        }
        const tail = u32At(value, 1);
        streams.push({ stream, tail, runs });
      } else if (type === PresenceOption.kinds) {
        if (kinds !== undefined) throw new DecodeError("bad-option", "KINDS option twice");
        if (value.includes(0)) throw new DecodeError("bad-option", "kind 0 in a KINDS option");
        kinds = [...value];
      } else if (type === PresenceOption.feedback) {
        if (len < 9 || (len - 9) % 8 !== 0 || (len - 9) / 8 > MAX_NAMED_REPORTERS) {
          throw new DecodeError("bad-option", `FEEDBACK option of ${len} bytes`);
        }
        feedback ??= [];
        if (feedback.length >= MAX_PRESENCE_STREAMS) {
          throw new DecodeError("bad-option", `more than ${MAX_PRESENCE_STREAMS} FEEDBACK options`);
        }
        const stream = value[0] as number;
        if (feedback.some((b) => b.stream === stream)) {
          throw new DecodeError("bad-option", `feedback for stream ${stream} twice`);
        }
        const named: string[] = [];
        for (let i = 9; i < len; i += 8) named.push(idFromBytes(value.subarray(i, i + 8)));
        feedback.push({ stream, floor: u32At(value, 1), watermark: u32At(value, 5), named });
      } else if (type === PresenceOption.interval) {
        if (intervalMs !== undefined) throw new DecodeError("bad-option", "INTERVAL option twice");
        if (len !== 4) throw new DecodeError("bad-option", `INTERVAL option of ${len} bytes`);
        intervalMs = u32At(value, 0);
        if (intervalMs === 0) throw new DecodeError("bad-option", "INTERVAL of 0 ms");
      }
      // Any other option type: skipped (a later revision's; PROTOCOL.md §12.2).
    }
    const frame: PresenceFrame = {
      type: "presence",
      id: h.id,
      seq: h.seq,
      phase,
      nick,
      age,
      streams,
    };
    if (kinds !== undefined) frame.kinds = kinds;
    if (feedback !== undefined) frame.feedback = feedback;
    if (intervalMs !== undefined) frame.intervalMs = intervalMs;
    if (h.flags & PresenceFlag.reportWanted) frame.reportWanted = true;
    return frame;
  },
};

// ---- RECORD: stream u8, kind u8, fragIndex u8, fragCount u8, runs, length u16, payload ----

function checkRecord(f: RecordFrame): void {
  checkUint("record", "stream", f.stream, 255);
  checkUint("record", "kind", f.kind, 255, 1);
  checkUint("record", "fragCount", f.fragCount, MAX_FRAGMENTS, 1);
  checkUint("record", "fragIndex", f.fragIndex, f.fragCount - 1);
  checkRuns("record", f.runs);
  if (!(f.payload instanceof Uint8Array)) invalid("record", "payload must be a Uint8Array");
  if (f.payload.length > MAX_FRAGMENT_PAYLOAD) {
    invalid("record", `payload of ${f.payload.length} bytes > ${MAX_FRAGMENT_PAYLOAD}`);
  }
}

export const record: BodyCodec<RecordFrame> = {
  code: TypeCode.record,
  flags: (f) => (f.repair ? Flag.repair : 0) | (f.history ? Flag.history : 0),
  encodingLength(f) {
    checkRecord(f);
    return 4 + 1 + 2 * f.runs.length + 2 + f.payload.length;
  },
  encode(f, w) {
    checkRecord(f);
    w.u8(f.stream);
    w.u8(f.kind);
    w.u8(f.fragIndex);
    w.u8(f.fragCount);
    w.u8(f.runs.length);
    writeRunPairs(w, f.runs);
    w.u16(f.payload.length);
    w.bytes(f.payload);
  },
  decode(r, h) {
    const stream = r.u8("stream");
    const kind = r.u8("kind");
    if (kind === 0) throw new DecodeError("bad-record", "record kind 0");
    const fragIndex = r.u8("fragment index");
    const fragCount = r.u8("fragment count");
    checkFragment(fragIndex, fragCount);
    const nRuns = r.u8("run count");
    if (nRuns > MAX_RUNS) throw new DecodeError("bad-record", `${nRuns} kind runs > ${MAX_RUNS}`);
    const runs = readRunPairs(r, nRuns);
    const len = r.u16("payload length");
    if (len > MAX_FRAGMENT_PAYLOAD) {
      throw new DecodeError("bad-record", `payload of ${len} bytes > ${MAX_FRAGMENT_PAYLOAD}`);
    }
    return {
      type: "record",
      id: h.id,
      seq: h.seq,
      stream,
      kind,
      fragIndex,
      fragCount,
      repair: (h.flags & Flag.repair) !== 0,
      history: (h.flags & Flag.history) !== 0,
      runs,
      payload: r.bytes(len, "payload"),
    };
  },
};

// ---- STREAM_NACK: target id (8), stream u8, ranges; STREAM_GONE: stream u8, ranges ----

export const streamNack: BodyCodec<StreamNackFrame> = {
  code: TypeCode.stream_nack,
  flags: () => 0,
  encodingLength(f) {
    if (!isInstanceId(f.target)) invalid("stream_nack", `target ${JSON.stringify(f.target)}`);
    checkUint("stream_nack", "stream", f.stream, 255);
    checkRanges("stream_nack", f.ranges);
    return 8 + 1 + 1 + 6 * f.ranges.length;
  },
  encode(f, w) {
    w.bytes(idToBytes(f.target));
    w.u8(f.stream);
    writeRanges(w, f.ranges);
  },
  decode(r, h) {
    const target = idFromBytes(r.bytes(8, "target id"));
    const stream = r.u8("stream");
    return { type: "stream_nack", id: h.id, seq: h.seq, target, stream, ranges: readRanges(r) };
  },
};

export const streamGone: BodyCodec<StreamGoneFrame> = {
  code: TypeCode.stream_gone,
  flags: () => 0,
  encodingLength(f) {
    checkUint("stream_gone", "stream", f.stream, 255);
    checkRanges("stream_gone", f.ranges);
    return 1 + 1 + 6 * f.ranges.length;
  },
  encode(f, w) {
    w.u8(f.stream);
    writeRanges(w, f.ranges);
  },
  decode(r, h) {
    const stream = r.u8("stream");
    return { type: "stream_gone", id: h.id, seq: h.seq, stream, ranges: readRanges(r) };
  },
};

// ---- STREAM_REPORT: count u8, then count × (target id (8), stream u8, next u32) ----

export const streamReport: BodyCodec<StreamReportFrame> = {
  code: TypeCode.stream_report,
  flags: () => 0,
  encodingLength: (f) => reportEntriesLength("stream_report", f.entries, true),
  encode(f, w) {
    writeReportEntries(w, f.entries, true);
  },
  decode(r, h) {
    return { type: "stream_report", id: h.id, seq: h.seq, entries: readReportEntries(r, true) };
  },
};
