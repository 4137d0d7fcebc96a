/**
 * The v1.1 codecs (PROTOCOL.md §12): PRESENCE, RECORD, STREAM_NACK / STREAM_GONE /
 * STREAM_REPORT, kind runs and the TEXT record body. Golden bytes are in golden.test.ts; these
 * are the bounds and the rules around them.
 */
import { describe, expect, test } from "bun:test";
import {
  DecodeError,
  decode,
  decodeTextRecord,
  encode,
  encodeTextRecord,
  encodingLength,
  type Frame,
  HEADER_LENGTH,
  type KindRun,
  MAX_RECORD_FRAME_BYTES,
  MAX_RUNS,
  type PresenceFrame,
  type RecordFrame,
  type TextRecord,
  textRecordLength,
} from "../../src/protocol/index.ts";

const id = "0123456789abcdef";
const other = "fedcba9876543210";
const te = new TextEncoder();
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h.replaceAll(" ", ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function decodeError(f: () => unknown): DecodeError["reason"] | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return undefined;
}

const presence: PresenceFrame = {
  type: "presence",
  id,
  seq: 0xffffffff,
  phase: "heartbeat",
  nick: "Zoë",
  age: 2 ** 48 - 1,
  reportWanted: true,
  streams: [
    {
      stream: 0,
      tail: 41,
      runs: [
        { kind: 0xf0, count: 1 },
        { kind: 1, count: 255 },
      ],
    },
    { stream: 1, tail: 0xffffffff, runs: [] },
  ],
  kinds: [1, 0x40, 0xff],
};

const record: RecordFrame = {
  type: "record",
  id,
  seq: 7,
  stream: 1,
  kind: 0xff,
  fragIndex: 63,
  fragCount: 64,
  repair: true,
  history: false,
  runs: [
    { kind: 1, count: 3 },
    { kind: 0xf0, count: 255 },
  ],
  payload: new Uint8Array(1200).fill(0xa5),
};

const samples: Frame[] = [
  presence,
  { type: "presence", id, seq: 0, phase: "hello", nick: "a", age: 0, streams: [] },
  { type: "presence", id, seq: 1, phase: "bye", nick: "李雷", age: 1, streams: [], kinds: [] },
  record,
  {
    type: "record",
    id,
    seq: 0,
    stream: 0,
    kind: 1,
    fragIndex: 0,
    fragCount: 1,
    repair: false,
    history: true,
    runs: [],
    payload: new Uint8Array(0),
  },
  {
    type: "stream_nack",
    id,
    seq: 0,
    target: other,
    stream: 255,
    ranges: [
      { start: 0xffffffff, count: 0xffff },
      { start: 0, count: 1 },
    ],
  },
  { type: "stream_gone", id, seq: 0, stream: 1, ranges: [{ start: 5, count: 10 }] },
  {
    type: "stream_report",
    id,
    seq: 0,
    entries: [
      { target: other, stream: 0, next: 0xffffffff },
      { target: other, stream: 1, next: 0 },
      { target: "0000000000000000", stream: 255, next: 42 },
    ],
  },
];

describe("round trips", () => {
  for (const f of samples) {
    test(`${f.type} ${"phase" in f ? f.phase : ""}`, () => {
      const bytes = encode(f);
      expect(bytes.length).toBe(encodingLength(f));
      expect(decode(bytes)).toEqual(f);
    });
  }

  test("the largest RECORD (8 runs, 1,200 bytes of payload) is 1,240 bytes", () => {
    const runs = Array.from({ length: MAX_RUNS }, (_, i) => ({ kind: i + 1, count: 255 }));
    const f: RecordFrame = { ...record, runs };
    expect(MAX_RECORD_FRAME_BYTES).toBe(1240);
    expect(encodingLength(f)).toBe(1240);
    expect(encode(f).length).toBe(1240);
    expect(decode(encode(f))).toEqual(f);
  });

  test("RECORD flags: REPAIR and HISTORY bits, no other", () => {
    const flags = (f: RecordFrame) => encode(f)[4];
    expect(flags({ ...record, repair: false, history: false })).toBe(0x00);
    expect(flags({ ...record, repair: true, history: false })).toBe(0x02);
    expect(flags({ ...record, repair: false, history: true })).toBe(0x04);
    // ACTION and COMPAT mean nothing on a RECORD: ignored by the decoder.
    const bytes = encode({ ...record, repair: false, history: false });
    bytes[4] = 0xf9;
    expect(decode(bytes)).toEqual({ ...record, repair: false, history: false });
  });

  test("PRESENCE flags: REPORT-WANTED only", () => {
    expect(encode(presence)[4]).toBe(0x01);
    expect(encode({ ...presence, reportWanted: false })[4]).toBe(0x00);
  });

  test("a record's payload is a copy, not a view into the datagram", () => {
    const bytes = encode(record);
    const f = decode(bytes) as RecordFrame;
    bytes.fill(0);
    expect(f.payload[0]).toBe(0xa5);
  });
});

describe("PRESENCE options", () => {
  const body = (f: PresenceFrame) => encode(f).subarray(HEADER_LENGTH);

  test("encoded in order: the STREAM options as given, then KINDS; the count counts them all", () => {
    const f: PresenceFrame = {
      type: "presence",
      id,
      seq: 3,
      phase: "heartbeat",
      nick: "bo",
      age: 1,
      kinds: [1, 2],
      streams: [
        { stream: 1, tail: 9, runs: [] },
        { stream: 0, tail: 0x01020304, runs: [{ kind: 0xf0, count: 2 }] },
      ],
    };
    expect(toHex(body(f))).toBe(
      [
        "02", // phase HEARTBEAT
        "02 626f", // nick
        "000000000001", // age
        "03", // option count
        "01 05 01 00000009", // STREAM 1, tail 9, no runs
        "01 07 00 01020304 f002", // STREAM 0, tail, one run
        "02 02 0102", // KINDS
      ]
        .join("")
        .replaceAll(" ", ""),
    );
  });

  test("no KINDS option when the frame has no kinds; an empty one when kinds is []", () => {
    const f: PresenceFrame = { ...presence, streams: [] };
    const { kinds: _, ...noKinds } = f;
    expect(toHex(body(noKinds)).slice(-2)).toBe("00");
    expect(toHex(body({ ...f, kinds: [] })).slice(-6)).toBe("010200");
  });

  test("decoded in any order (KINDS before STREAM)", () => {
    const hex =
      "ff4d0105000123456789abcdef00000003 02 02626f 000000000001 02 020101 010500 00000009";
    expect(decode(fromHex(hex))).toEqual({
      type: "presence",
      id,
      seq: 3,
      phase: "heartbeat",
      nick: "bo",
      age: 1,
      streams: [{ stream: 0, tail: 9, runs: [] }],
      kinds: [1],
    });
  });

  const head = "ff4d0105000123456789abcdef00000003 02 02626f 000000000001";
  const expected = (streams: PresenceFrame["streams"], kinds?: number[]): PresenceFrame => ({
    type: "presence",
    id,
    seq: 3,
    phase: "heartbeat",
    nick: "bo",
    age: 1,
    streams,
    ...(kinds === undefined ? {} : { kinds }),
  });

  test("an unknown option type is skipped, whatever its length or place", () => {
    for (const unknown of ["7f 02 0000", "00 00", "05 01 ff", `ff ff ${"ab".repeat(255)}`]) {
      expect(decode(fromHex(`${head} 03 ${unknown} 010500 00000009 020101`))).toEqual(
        expected([{ stream: 0, tail: 9, runs: [] }], [1]),
      );
      expect(decode(fromHex(`${head} 03 010500 00000009 020101 ${unknown}`))).toEqual(
        expected([{ stream: 0, tail: 9, runs: [] }], [1]),
      );
      expect(decode(fromHex(`${head} 01 ${unknown}`))).toEqual(expected([]));
    }
  });

  test("an unknown option is still bounded: cut short is truncated, past the count is trailing", () => {
    expect(decodeError(() => decode(fromHex(`${head} 01 7f 03 0000`)))).toBe("truncated");
    expect(decodeError(() => decode(fromHex(`${head} 01 7f`)))).toBe("truncated");
    expect(decodeError(() => decode(fromHex(`${head} 00 7f 00`)))).toBe("trailing-bytes");
    expect(decodeError(() => decode(fromHex(`${head}`)))).toBe("truncated");
  });

  test("STREAM option lengths: 5 + 2 × runs, 0..8 runs", () => {
    for (let len = 0; len <= 30; len++) {
      // stream 0, tail 0x01010101, then runs (1, 1): only the length can be wrong
      const value = len === 0 ? "" : `00${"01".repeat(len - 1)}`;
      const hex = `${head} 01 01 ${len.toString(16).padStart(2, "0")} ${value}`;
      const ok = len >= 5 && (len - 5) % 2 === 0 && (len - 5) / 2 <= 8;
      expect([len, decodeError(() => decode(fromHex(hex)))]).toEqual([
        len,
        ok ? undefined : "bad-option",
      ]);
    }
  });

  test("16 STREAM options decode, 17 are bad-option", () => {
    const streams = (n: number) =>
      Array.from({ length: n }, (_, s) => `0105 ${s.toString(16).padStart(2, "0")} 00000000`);
    const f = decode(fromHex(`${head} 10 ${streams(16).join("")}`)) as PresenceFrame;
    expect(f.streams.map((s) => s.stream)).toEqual([...Array(16).keys()]);
    expect(decodeError(() => decode(fromHex(`${head} 11 ${streams(17).join("")}`)))).toBe(
      "bad-option",
    );
  });

  test("FEEDBACK option lengths: 9 + 8 × named, 0..5 named (§13)", () => {
    for (let len = 0; len <= 60; len++) {
      const value = len === 0 ? "" : `00${"01".repeat(len - 1)}`;
      const hex = `${head} 01 03 ${len.toString(16).padStart(2, "0")} ${value}`;
      const ok = len >= 9 && (len - 9) % 8 === 0 && (len - 9) / 8 <= 5;
      expect([len, decodeError(() => decode(fromHex(hex)))]).toEqual([
        len,
        ok ? undefined : "bad-option",
      ]);
    }
    const f = decode(
      fromHex(
        `${head} 02 0319 01 00000020 0000002a 0123456789abcdef 0011223344556677 0404 00004e20`,
      ),
    );
    expect(f).toMatchObject({
      feedback: [{ stream: 1, floor: 32, watermark: 42, named: [id, "0011223344556677"] }],
      intervalMs: 20000,
    });
  });

  test("FEEDBACK and INTERVAL round-trip, and older members' frames have neither", () => {
    const f: PresenceFrame = {
      ...presence,
      feedback: [
        { stream: 0, floor: 0, watermark: 0xffffffff, named: [] },
        {
          stream: 1,
          floor: 5,
          watermark: 7,
          named: Array.from({ length: 5 }, (_, i) => `000000000000000${i}`),
        },
      ],
      intervalMs: 600_000,
    };
    const bytes = encode(f);
    expect(bytes.length).toBe(encodingLength(f));
    expect(decode(bytes)).toEqual(f);
    const old = decode(encode(presence)) as PresenceFrame;
    expect(old.feedback).toBeUndefined();
    expect(old.intervalMs).toBeUndefined();
  });

  test("encoder refuses what the decoder rejects (RangeError)", () => {
    const s = (stream: number) => ({ stream, tail: 0, runs: [] });
    const bad: PresenceFrame[] = [
      { ...presence, phase: "welcome" as PresenceFrame["phase"] },
      { ...presence, streams: [s(0), s(0)] },
      { ...presence, streams: Array.from({ length: 17 }, (_, i) => s(i)) },
      { ...presence, streams: [s(256)] },
      { ...presence, streams: [{ stream: 0, tail: 2 ** 32, runs: [] }] },
      { ...presence, kinds: [1, 0] },
      { ...presence, kinds: [256] },
      { ...presence, nick: "" },
      { ...presence, age: 2 ** 48 },
      { ...presence, intervalMs: 0 },
      { ...presence, intervalMs: 2 ** 32 },
      { ...presence, feedback: [{ stream: 0, floor: 0, watermark: 0, named: Array(6).fill(id) }] },
      { ...presence, feedback: [{ stream: 0, floor: 0, watermark: 2 ** 32, named: [] }] },
      { ...presence, feedback: [{ stream: 0, floor: 0, watermark: 0, named: ["nope"] }] },
      {
        ...presence,
        feedback: [
          { stream: 2, floor: 0, watermark: 0, named: [] },
          { stream: 2, floor: 0, watermark: 1, named: [] },
        ],
      },
    ];
    for (const f of bad) {
      expect(() => encodingLength(f)).toThrow(RangeError);
      expect(() => encode(f)).toThrow(RangeError);
    }
    expect(
      encode({ ...presence, streams: Array.from({ length: 16 }, (_, i) => s(i)) }).length,
    ).toBe(encodingLength({ ...presence, streams: Array.from({ length: 16 }, (_, i) => s(i)) }));
  });
});

describe("kind runs", () => {
  const withRuns = (runs: KindRun[]): Frame[] => [
    { ...record, runs },
    { ...presence, streams: [{ stream: 0, tail: 41, runs }] },
  ];
  const nine = Array.from({ length: 9 }, () => ({ kind: 1, count: 1 }));
  const eight = nine.slice(1);

  for (const [what, runs] of [
    ["9 runs", nine],
    ["kind 0", [{ kind: 0, count: 1 }]],
    ["kind 256", [{ kind: 256, count: 1 }]],
    ["count 0", [{ kind: 1, count: 0 }]],
    ["count 256", [{ kind: 1, count: 256 }]],
    ["count 1.5", [{ kind: 1, count: 1.5 }]],
  ] as [string, KindRun[]][]) {
    test(`encode throws RangeError for ${what}`, () => {
      for (const f of withRuns(runs)) {
        expect(() => encode(f)).toThrow(RangeError);
        expect(() => encodingLength(f)).toThrow(RangeError);
      }
    });
  }

  test("8 runs, kinds 1 and 255, counts 1 and 255 round-trip, newest first as given", () => {
    const runs = [{ kind: 255, count: 1 }, { kind: 1, count: 255 }, ...eight.slice(2)];
    for (const f of withRuns(runs)) expect(decode(encode(f))).toEqual(f);
    const bytes = encode({ ...record, runs });
    expect(toHex(bytes.subarray(HEADER_LENGTH + 4, HEADER_LENGTH + 9))).toBe("08ff0101ff");
  });

  test("decode: a run of kind 0 or count 0 is bad-record in a RECORD, bad-option in PRESENCE", () => {
    const rec = (runs: string) =>
      `ff4d0106000123456789abcdef0000002a 00 01 00 01 ${runs} 0000`.replaceAll(" ", "");
    expect(decodeError(() => decode(fromHex(rec("01 0100"))))).toBe("bad-record");
    expect(decodeError(() => decode(fromHex(rec("01 0001"))))).toBe("bad-record");
    expect(decodeError(() => decode(fromHex(rec(`09 ${"0101".repeat(9)}`))))).toBe("bad-record");
    expect(decodeError(() => decode(fromHex(rec(`08 ${"0101".repeat(8)}`))))).toBeUndefined();
    const pres = (run: string) =>
      `ff4d0105000123456789abcdef00000003 02 02626f 000000000001 01 01 07 00 00000009 ${run}`;
    expect(decodeError(() => decode(fromHex(pres("0100"))))).toBe("bad-option");
    expect(decodeError(() => decode(fromHex(pres("0001"))))).toBe("bad-option");
    expect(decodeError(() => decode(fromHex(pres("ffff"))))).toBeUndefined();
  });
});

describe("RECORD bounds", () => {
  test("encode throws RangeError for kind 0, a bad fragment, a payload over 1,200 bytes", () => {
    const bad: RecordFrame[] = [
      { ...record, kind: 0 },
      { ...record, kind: 256 },
      { ...record, stream: 256 },
      { ...record, fragIndex: 64, fragCount: 64 },
      { ...record, fragIndex: 0, fragCount: 0 },
      { ...record, fragIndex: 0, fragCount: 65 },
      { ...record, payload: new Uint8Array(1201) },
      { ...record, payload: "text" as unknown as Uint8Array },
    ];
    for (const f of bad) expect(() => encode(f)).toThrow(RangeError);
  });

  test("decode: payload length 1,200 is taken, 1,201 is bad-record", () => {
    const rec = (n: number) =>
      fromHex(
        `ff4d0106000123456789abcdef0000002a 00f0 0001 00 ${n.toString(16).padStart(4, "0")}` +
          "00".repeat(n),
      );
    expect((decode(rec(1200)) as RecordFrame).payload.length).toBe(1200);
    expect(decodeError(() => decode(rec(1201)))).toBe("bad-record");
  });
});

describe("TEXT record body (§12.4)", () => {
  const base: TextRecord = { action: false, nick: "alice", time: 1700000000000, text: "hello" };

  test("layout: flags, nick, time u48, text (the rest)", () => {
    expect(toHex(encodeTextRecord({ ...base, action: true }))).toBe(
      "01 05616c696365 018bcfe56800 68656c6c6f".replaceAll(" ", ""),
    );
  });

  for (const r of [
    base,
    { ...base, action: true },
    { ...base, text: "" },
    { ...base, nick: "李雷", text: "你好 👋\u0000\n" },
    { ...base, nick: "x".repeat(32), time: 0 },
    { ...base, time: 2 ** 48 - 1 },
    { ...base, text: "\ufeffa BOM stays" },
    { ...base, text: `${"€".repeat(21845)}a` }, // 65,536 bytes
  ]) {
    test(`round trip: ${JSON.stringify(r).slice(0, 60)}`, () => {
      const body = encodeTextRecord(r);
      expect(body.length).toBe(textRecordLength(r));
      expect(decodeTextRecord(body)).toEqual(r);
    });
  }

  test("reserved flag bits are ignored", () => {
    const body = encodeTextRecord(base);
    body[0] = 0xfe;
    expect(decodeTextRecord(body)).toEqual(base);
    body[0] = 0xff;
    expect(decodeTextRecord(body)).toEqual({ ...base, action: true });
  });

  test("nick bounds: encode throws RangeError for 0 or 33 bytes, decode says bad-nick", () => {
    for (const nick of ["", "x".repeat(33), "李".repeat(11), "\ud800"]) {
      expect(() => encodeTextRecord({ ...base, nick })).toThrow(RangeError);
      expect(() => textRecordLength({ ...base, nick })).toThrow(RangeError);
    }
    expect(decodeError(() => decodeTextRecord(fromHex("00 00 018bcfe56800")))).toBe("bad-nick");
    const nick33 = `21${"78".repeat(33)}018bcfe56800`;
    expect(decodeError(() => decodeTextRecord(fromHex(`00${nick33}`)))).toBe("bad-nick");
    expect(decodeError(() => decodeTextRecord(fromHex("00 02c328 018bcfe56800")))).toBe("bad-nick");
  });

  test("text over 65,536 bytes: RangeError on encode, bad-text on decode", () => {
    const big = { ...base, text: "a".repeat(65537) };
    expect(() => encodeTextRecord(big)).toThrow(RangeError);
    const body = new Uint8Array(1 + 6 + 6 + 65537).fill(0x61);
    body.set(fromHex("00 05616c696365 018bcfe56800"));
    expect(decodeError(() => decodeTextRecord(body))).toBe("bad-text");
  });

  test("invalid UTF-8 in the text is bad-text", () => {
    const head = "00 05616c696365 018bcfe56800";
    for (const text of ["80", "c328", "eda080", "f4908080", "c0af", "e282"]) {
      expect(decodeError(() => decodeTextRecord(fromHex(`${head}${text}`)))).toBe("bad-text");
    }
  });

  test("a body shorter than flags + nick + time is truncated", () => {
    const full = encodeTextRecord({ ...base, text: "" });
    expect(full.length).toBe(13);
    for (let n = 0; n < full.length; n++) {
      expect(decodeError(() => decodeTextRecord(full.subarray(0, n)))).toBe("truncated");
    }
    expect(decodeTextRecord(full)).toEqual({ ...base, text: "" });
  });

  test("a RECORD's payload carries it: encode, then decode frame and body", () => {
    const payload = encodeTextRecord({ ...base, action: true, text: "waves" });
    const f: RecordFrame = { ...record, stream: 0, kind: 1, fragIndex: 0, fragCount: 1, payload };
    const got = decode(encode(f)) as RecordFrame;
    expect(decodeTextRecord(got.payload)).toEqual({ ...base, action: true, text: "waves" });
    expect(got.payload.subarray(13)).toEqual(te.encode("waves"));
  });
});
