/** fast-check arbitraries for valid v1 and v1.1 frames (shared by the property tests). */
import fc from "fast-check";
import {
  type Frame,
  type KindRun,
  MAX_FRAGMENT_PAYLOAD,
  MAX_FRAGMENTS,
  MAX_NICK_BYTES,
  MAX_PRESENCE_STREAMS,
  MAX_RANGES,
  MAX_REPORT_ENTRIES,
  MAX_RUNS,
  type ReportEntry,
  type SeqRange,
  type StreamState,
} from "../../src/protocol/index.ts";

const enc = new TextEncoder();

export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const instanceId = fc
  .uint8Array({ minLength: 8, maxLength: 8 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""));

/** Valid nicks: 1..32 UTF-8 bytes of any Unicode (well-formed), including a leading BOM. */
export const nick = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => {
  const n = enc.encode(s).length;
  return n >= 1 && n <= MAX_NICK_BYTES && s.isWellFormed();
});

/** A fragment payload: valid UTF-8 of at most MAX_FRAGMENT_PAYLOAD bytes. */
export const payload = fc
  .oneof(
    fc.string({ unit: "grapheme", maxLength: 400 }),
    fc.string({ unit: "binary", maxLength: 300 }),
  )
  .map((s) => enc.encode(s.toWellFormed()))
  .filter((b) => b.length <= MAX_FRAGMENT_PAYLOAD);

const seqRange: fc.Arbitrary<SeqRange> = fc.record({
  start: u32,
  count: fc.integer({ min: 1, max: 0xffff }),
});
const ranges = fc.array(seqRange, { minLength: 1, maxLength: MAX_RANGES });

const base = { id: instanceId, seq: u32 };
/** Mostly realistic ages (up to ~12 days), sometimes anything a u48 holds. */
const age = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 30 }),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }),
);
const reportEntry: fc.Arbitrary<ReportEntry> = fc.record({ target: instanceId, next: u32 });

const u8 = fc.integer({ min: 0, max: 255 });
const kind = fc.integer({ min: 1, max: 255 });
const runs: fc.Arbitrary<KindRun[]> = fc.array(
  fc.record({ kind, count: fc.integer({ min: 1, max: 255 }) }),
  { maxLength: MAX_RUNS },
);
const streams: fc.Arbitrary<StreamState[]> = fc.uniqueArray(
  fc.record({ stream: u8, tail: u32, runs }),
  { maxLength: MAX_PRESENCE_STREAMS, selector: (s) => s.stream },
);
/** Only flags set to true are kept (decode leaves false ones out). */
const flag = fc.constant(true);

/** v1.1 frames (PROTOCOL.md §12). */
export const streamFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    {
      type: fc.constant("presence" as const),
      ...base,
      phase: fc.constantFrom("hello" as const, "heartbeat" as const, "bye" as const),
      nick,
      age,
      reportWanted: flag,
      allReport: flag,
      streams,
      kinds: fc.array(kind, { maxLength: 40 }),
      feedback: fc.uniqueArray(
        fc.record({
          stream: u8,
          floor: u32,
          watermark: u32,
          named: fc.array(instanceId, { maxLength: 5 }),
        }),
        { minLength: 1, maxLength: MAX_PRESENCE_STREAMS, selector: (b) => b.stream },
      ),
      intervalMs: fc.integer({ min: 1, max: 0xffffffff }),
    },
    { requiredKeys: ["type", "id", "seq", "phase", "nick", "age", "streams"] },
  ),
  fc
    .record({
      type: fc.constant("record" as const),
      ...base,
      stream: u8,
      kind,
      fragCount: fc.integer({ min: 1, max: MAX_FRAGMENTS }),
      fragIndex: fc.nat(),
      repair: fc.boolean(),
      history: fc.boolean(),
      runs,
      payload: fc.uint8Array({ maxLength: MAX_FRAGMENT_PAYLOAD }),
    })
    .map((f) => ({ ...f, fragIndex: f.fragIndex % f.fragCount })),
  fc.record({
    type: fc.constant("stream_nack" as const),
    ...base,
    target: instanceId,
    stream: u8,
    ranges,
  }),
  fc.record({ type: fc.constant("stream_gone" as const), ...base, stream: u8, ranges }),
  fc.record({
    type: fc.constant("stream_report" as const),
    ...base,
    entries: fc.array(fc.record({ target: instanceId, stream: u8, next: u32 }), {
      minLength: 1,
      maxLength: MAX_REPORT_ENTRIES,
    }),
  }),
);

const compat = { compat: flag };
const presenceKeys = ["type", "id", "seq", "nick", "age"] as (
  | "type"
  | "id"
  | "seq"
  | "nick"
  | "age"
)[];

export const frame: fc.Arbitrary<Frame> = fc.oneof(
  streamFrame,
  fc.record(
    { type: fc.constant("hello" as const), ...base, nick, age, ...compat },
    { requiredKeys: presenceKeys },
  ),
  fc.record(
    {
      type: fc.constant("heartbeat" as const),
      ...base,
      nick,
      age,
      reportWanted: fc.constant(true),
      ...compat,
    },
    { requiredKeys: presenceKeys },
  ),
  fc.record(
    { type: fc.constant("bye" as const), ...base, nick, age, ...compat },
    { requiredKeys: presenceKeys },
  ),
  fc
    .record(
      {
        type: fc.constant("message" as const),
        ...base,
        nick,
        time: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fragCount: fc.integer({ min: 1, max: MAX_FRAGMENTS }),
        fragIndex: fc.nat(),
        action: fc.boolean(),
        repair: fc.boolean(),
        history: fc.boolean(),
        payload,
        ...compat,
      },
      {
        requiredKeys: [
          "type",
          "id",
          "seq",
          "nick",
          "time",
          "fragCount",
          "fragIndex",
          "action",
          "repair",
          "history",
          "payload",
        ],
      },
    )
    .map((f) => ({ ...f, fragIndex: f.fragIndex % f.fragCount })),
  fc.record({ type: fc.constant("nack" as const), ...base, target: instanceId, ranges }),
  fc.record(
    { type: fc.constant("gone" as const), ...base, ranges, ...compat },
    { requiredKeys: ["type", "id", "seq", "ranges"] },
  ),
  fc.record({
    type: fc.constant("history_req" as const),
    ...base,
    count: fc.integer({ min: 1, max: 0xffff }),
    requestId: u32,
  }),
  fc.record({
    type: fc.constant("report" as const),
    ...base,
    entries: fc.array(reportEntry, { minLength: 1, maxLength: MAX_REPORT_ENTRIES }),
  }),
);
