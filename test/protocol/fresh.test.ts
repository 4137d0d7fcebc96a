/**
 * FRESH frames (src/protocol/fresh.ts, PROTOCOL.md §10.7): the golden vectors of
 * test/fixtures/fresh-vectors.json (made by test/fixtures/fresh-vectors.py from the layout in
 * PROTOCOL.md), round trips, and every malformed input rejected with a DecodeError only.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  DecodeError,
  decodeFresh,
  encodeFresh,
  isFresh,
  MAX_ECHOES,
  openFrame,
  sealFrame,
} from "../../src/protocol/index.ts";
import vectors from "../fixtures/fresh-vectors.json";

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("FRESH golden vectors (test/fixtures/fresh-vectors.json)", () => {
  const sendKey = bytes(vectors.sendKey);
  const salt = bytes(vectors.salt);
  for (const v of vectors.vectors) {
    test(v.what, () => {
      const f = {
        floor: BigInt(v.floor),
        echoes: v.echoes.map(bytes),
        ...(v.challenge ? { challenge: bytes(v.challenge) } : {}),
      };
      expect(hex(encodeFresh(f))).toBe(v.inner);
      expect(decodeFresh(bytes(v.inner))).toEqual(f);
      expect(hex(sealFrame(sendKey, salt, BigInt(v.counter), bytes(v.inner)))).toBe(v.sealed);
      const opened = openFrame(() => sendKey, bytes(v.sealed));
      expect(isFresh(opened.inner)).toBe(true);
      expect(decodeFresh(opened.inner)).toEqual(f);
    });
  }
});

test("PROTOCOL.md §10.7 prints the same vectors", () => {
  const md = readFileSync(join(import.meta.dir, "../../src/protocol/PROTOCOL.md"), "utf8");
  const blocks = [...md.matchAll(/```text\n([^`]*)```/g)].map((m) =>
    (m[1] ?? "").replace(/\s+/g, ""),
  );
  for (const v of vectors.vectors) {
    expect(blocks).toContain(v.sealed);
    expect(md.includes(`inner \`${v.inner}\``)).toBe(true);
  }
});

describe("FRESH codec", () => {
  test("its magic FF 46 is never a v1 frame's FF 4D", () => {
    expect(isFresh(bytes("ff4d0101"))).toBe(false);
    expect(isFresh(bytes("ff46"))).toBe(true);
  });

  test("round trip for any content", () => {
    const nonce = fc.uint8Array({ minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.option(nonce, { nil: undefined }),
        fc.array(nonce, { maxLength: MAX_ECHOES }),
        (floor, challenge, echoes) => {
          const f = { floor, echoes, ...(challenge ? { challenge } : {}) };
          expect(decodeFresh(encodeFresh(f))).toEqual(f);
        },
      ),
    );
  });

  test("later versions may append bytes; this version ignores them", () => {
    const f = { floor: 7n, echoes: [bytes("0102030405060708")] };
    const longer = Uint8Array.from([...encodeFresh(f), 9, 9, 9]);
    expect(decodeFresh(longer)).toEqual(f);
  });

  test("malformed: a DecodeError, never anything else", () => {
    const good = encodeFresh({ floor: 1n, echoes: [bytes("0102030405060708")] });
    const bad: [Uint8Array, string][] = [
      [bytes("ff4d01"), "not-framed"],
      [bytes("ff46"), "truncated"],
      [bytes("ff4602"), "unsupported-version"],
      [good.subarray(0, 20), "truncated"],
      [good.subarray(0, good.length - 1), "truncated"],
      [Uint8Array.from([...good.subarray(0, 20), MAX_ECHOES + 1]), "bad-count"],
    ];
    for (const [b, reason] of bad) {
      let err: unknown;
      try {
        decodeFresh(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).reason).toBe(reason as DecodeError["reason"]);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        try {
          decodeFresh(Uint8Array.from([0xff, 0x46, ...b]));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });

  test("encode refuses what it cannot write", () => {
    const n = bytes("0102030405060708");
    expect(() => encodeFresh({ floor: -1n, echoes: [] })).toThrow(RangeError);
    expect(() => encodeFresh({ floor: 0n, echoes: Array(MAX_ECHOES + 1).fill(n) })).toThrow(
      RangeError,
    );
    expect(() => encodeFresh({ floor: 0n, echoes: [bytes("01")] })).toThrow(RangeError);
  });
});
