/**
 * namesOneOf (src/net/named-proof.ts): which inner frames name one of our instance ids, the
 * proof that a run without FRESH (mcchat 0.3) is live now (PROTOCOL.md §10.7). Feedback frames
 * (NACK, REPORT and their stream forms) name the member they are about; nothing else does, and
 * no bytes from the wire make it throw.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { namesOneOf } from "../../src/net/named-proof.ts";
import { encode, type Frame } from "../../src/protocol/index.ts";
import { frame, streamFrame } from "./arbitraries.ts";

const US = "fedcba9876543210";
const OTHER = "0123456789abcdef";
const ours = new Set([US]);

/** The ids a frame names in its body (the reference answer, written from PROTOCOL.md §4/§12.3). */
function targets(f: Frame): string[] {
  if (f.type === "nack" || f.type === "stream_nack") return [f.target];
  if (f.type === "report" || f.type === "stream_report") return f.entries.map((e) => e.target);
  return [];
}

describe("namesOneOf", () => {
  test("NACK, REPORT, STREAM_NACK and STREAM_REPORT naming us do; the same naming others do not", () => {
    const range = [{ start: 5, count: 2 }];
    const make = (t: string): Frame[] => [
      { type: "nack", id: OTHER, seq: 1, target: t, ranges: range },
      { type: "report", id: OTHER, seq: 1, entries: [{ target: t, next: 3 }] },
      { type: "stream_nack", id: OTHER, seq: 1, target: t, stream: 0, ranges: range },
      {
        type: "stream_report",
        id: OTHER,
        seq: 0,
        entries: [
          { target: "1111111111111111", stream: 1, next: 0 },
          { target: t, stream: 0, next: 0 },
        ],
      },
    ];
    for (const f of make(US)) expect(namesOneOf(encode(f), ours)).toBe(true);
    for (const f of make("2222222222222222")) expect(namesOneOf(encode(f), ours)).toBe(false);
    // our id in the header (the sender's own) is not naming us
    const hello: Frame = { type: "hello", id: US, seq: 0, nick: "x", age: 0 };
    expect(namesOneOf(encode(hello), ours)).toBe(false);
    expect(namesOneOf(encode(make(US)[0] as Frame), new Set())).toBe(false);
  });

  test("any frame: true exactly when its body names one of our ids", () => {
    fc.assert(
      fc.property(fc.oneof(frame, streamFrame), (f) => {
        const ids = new Set(targets(f).slice(0, 1));
        expect(namesOneOf(encode(f), ids)).toBe(ids.size > 0);
        expect(namesOneOf(encode(f), new Set([US]))).toBe(targets(f).includes(US));
      }),
    );
  });

  test("cut short, extended or random bytes never throw, and a cut feedback frame names nobody", () => {
    const f: Frame = {
      type: "stream_report",
      id: OTHER,
      seq: 0,
      entries: [{ target: US, stream: 0, next: 0 }],
    };
    const bytes = encode(f);
    for (let n = 0; n < bytes.length; n++)
      expect(namesOneOf(bytes.subarray(0, n), ours)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        expect(typeof namesOneOf(b, ours)).toBe("boolean");
        const framed = Uint8Array.from([0xff, 0x4d, 1, 0x16, ...b]);
        expect(typeof namesOneOf(framed, ours)).toBe("boolean");
      }),
    );
  });
});
