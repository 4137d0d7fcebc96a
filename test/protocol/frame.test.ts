import { describe, expect, test } from "bun:test";
import {
  DecodeError,
  decode,
  encode,
  encodingLength,
  type Frame,
  HEADER_LENGTH,
  isFramed,
  MAX_FRAME_BYTES,
  type MessageFrame,
  randomInstanceId,
} from "../../src/protocol/index.ts";

const id = "00112233445566ff";
const te = new TextEncoder();

const message: MessageFrame = {
  type: "message",
  id,
  seq: 0xffffffff,
  nick: "Zoë",
  time: Date.UTC(2030, 0, 1),
  fragIndex: 2,
  fragCount: 3,
  action: false,
  repair: true,
  history: false,
  payload: te.encode("¡hola! 👋"),
};

const samples: Frame[] = [
  { type: "hello", id, seq: 0, nick: "bob", age: 0 },
  { type: "heartbeat", id, seq: 123456, nick: "ボブ", age: 86_400_000 },
  { type: "bye", id, seq: 0xffffffff, nick: "b", age: 2 ** 48 - 1 },
  message,
  { type: "nack", id, seq: 9, target: "ffffffffffffffff", ranges: [{ start: 0, count: 0xffff }] },
  { type: "gone", id, seq: 9, ranges: [{ start: 0xffffffff, count: 2 }] },
  { type: "history_req", id, seq: 9, count: 0xffff, requestId: 0 },
  {
    type: "report",
    id,
    seq: 0xffffffff,
    entries: [
      { target: "ffffffffffffffff", next: 0 },
      { target: "0000000000000000", next: 0xffffffff },
    ],
  },
];

describe("round trip, one per type", () => {
  for (const f of samples) {
    test(f.type, () => {
      const bytes = encode(f);
      expect(isFramed(bytes)).toBe(true);
      expect(bytes.length).toBe(encodingLength(f));
      expect(decode(bytes)).toEqual(f);
    });
  }
});

describe("header", () => {
  test("magic, version, type, flags, id, seq at fixed offsets", () => {
    const b = encode(message);
    expect([...b.subarray(0, 5)]).toEqual([0xff, 0x4d, 1, 0x04, 0x02]);
    expect(Buffer.from(b.subarray(5, 13)).toString("hex")).toBe(id);
    expect([...b.subarray(13, HEADER_LENGTH)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  test("the largest frame fits MAX_FRAME_BYTES exactly", () => {
    const big: MessageFrame = { ...message, nick: "n".repeat(32), payload: new Uint8Array(1200) };
    expect(encode(big).length).toBe(MAX_FRAME_BYTES);
    expect(MAX_FRAME_BYTES).toBeLessThanOrEqual(1472); // one unfragmented IPv4 UDP datagram on Ethernet
  });

  test("decode copies: mutating the datagram afterwards does not change the frame", () => {
    const b = encode(message);
    const f = decode(b) as MessageFrame;
    b.fill(0);
    expect(f.payload).toEqual(message.payload);
  });

  test("decode works on a Buffer view at a non-zero offset", () => {
    const b = encode(message);
    const pool = Buffer.alloc(b.length + 10);
    pool.set(b, 7);
    expect(decode(pool.subarray(7, 7 + b.length))).toEqual(message);
  });

  test("randomInstanceId is 16 lowercase hex digits and usable as an id", () => {
    const r = randomInstanceId();
    expect(r).toMatch(/^[0-9a-f]{16}$/);
    expect(decode(encode({ type: "hello", id: r, seq: 1, nick: "x", age: 1 })).id).toBe(r);
  });
});

describe("encoder rejects invalid frames with RangeError", () => {
  const bad: [string, Frame][] = [
    ["payload of 1201 bytes", { ...message, payload: new Uint8Array(1201) }],
    ["payload not UTF-8", { ...message, payload: new Uint8Array([0xc3]) }],
    ["fragIndex >= fragCount", { ...message, fragIndex: 3 }],
    ["fragCount 0", { ...message, fragIndex: 0, fragCount: 0 }],
    ["fragCount 65", { ...message, fragCount: 65 }],
    ["time > u48", { ...message, time: 2 ** 48 }],
    ["time negative", { ...message, time: -1 }],
    ["hello age > u48", { type: "hello", id, seq: 0, nick: "a", age: 2 ** 48 }],
    ["heartbeat age negative", { type: "heartbeat", id, seq: 0, nick: "a", age: -1 }],
    ["bye age 1.5", { type: "bye", id, seq: 0, nick: "a", age: 1.5 }],
    ["bye without age", { type: "bye", id, seq: 0, nick: "a" } as unknown as Frame],
    ["empty nick", { type: "hello", id, seq: 0, nick: "", age: 0 }],
    ["33-byte nick", { type: "hello", id, seq: 0, nick: `${"é".repeat(16)}x`, age: 0 }],
    ["nick with a lone surrogate", { type: "hello", id, seq: 0, nick: "a\uD800", age: 0 }],
    ["uppercase id", { type: "hello", id: "00112233445566FF", seq: 0, nick: "a", age: 0 }],
    ["short id", { type: "hello", id: "0011", seq: 0, nick: "a", age: 0 }],
    ["seq 2^32", { type: "hello", id, seq: 2 ** 32, nick: "a", age: 0 }],
    ["seq 1.5", { type: "hello", id, seq: 1.5, nick: "a", age: 0 }],
    ["nack without ranges", { type: "nack", id, seq: 0, target: id, ranges: [] }],
    [
      "nack with 33 ranges",
      { type: "nack", id, seq: 0, target: id, ranges: Array(33).fill({ start: 1, count: 1 }) },
    ],
    [
      "nack range count 0",
      { type: "nack", id, seq: 0, target: id, ranges: [{ start: 1, count: 0 }] },
    ],
    [
      "nack bad target",
      { type: "nack", id, seq: 0, target: "x", ranges: [{ start: 1, count: 1 }] },
    ],
    ["gone range count 65536", { type: "gone", id, seq: 0, ranges: [{ start: 1, count: 65536 }] }],
    ["history_req count 0", { type: "history_req", id, seq: 0, count: 0, requestId: 1 }],
    ["history_req requestId -1", { type: "history_req", id, seq: 0, count: 1, requestId: -1 }],
    ["report without entries", { type: "report", id, seq: 0, entries: [] }],
    [
      "report with 33 entries",
      {
        type: "report",
        id,
        seq: 0,
        entries: Array.from({ length: 33 }, () => ({ target: id, next: 1 })),
      },
    ],
    ["report bad target", { type: "report", id, seq: 0, entries: [{ target: "x", next: 1 }] }],
    ["report next 2^32", { type: "report", id, seq: 0, entries: [{ target: id, next: 2 ** 32 }] }],
    ["report next -1", { type: "report", id, seq: 0, entries: [{ target: id, next: -1 }] }],
    ["report without entries array", { type: "report", id, seq: 0 } as unknown as Frame],
    ["unknown type", { type: "shout", id, seq: 0 } as unknown as Frame],
  ];
  for (const [name, f] of bad) {
    test(name, () => {
      expect(() => encode(f)).toThrow(RangeError);
      expect(() => encodingLength(f)).toThrow(RangeError);
    });
  }
  test("a report with 32 entries is fine, and its length is 17 + 1 + 12 per entry", () => {
    const f: Frame = {
      type: "report",
      id,
      seq: 0,
      entries: Array.from({ length: 32 }, (_, i) => ({ target: id, next: i })),
    };
    expect(encode(f).length).toBe(17 + 1 + 12 * 32);
    expect(encode(f).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });
  test("a 32-byte nick is fine", () => {
    expect(() => encode({ type: "hello", id, seq: 0, nick: "é".repeat(16), age: 0 })).not.toThrow();
  });
});

describe("decoder", () => {
  test("a non-Uint8Array input throws DecodeError", () => {
    expect(() => decode("ff4d" as unknown as Uint8Array)).toThrow(DecodeError);
  });
  test("DecodeError carries a reason and a readable message", () => {
    try {
      decode(new Uint8Array([0xff, 0x4d, 9]));
      throw new Error("no throw");
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).reason).toBe("unsupported-version");
      expect((e as DecodeError).message).toBe("unsupported-version: version 9");
      expect((e as DecodeError).name).toBe("DecodeError");
    }
  });
});
