import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import iconv from "iconv-lite";
import {
  DecodeError,
  decode,
  encode,
  encodingLength,
  type Frame,
  isFramed,
  TypeCode,
} from "../../src/protocol/index.ts";
import { canonicalBytes } from "../helpers/canonical.ts";
import { frame } from "./arbitraries.ts";

const RUNS = { numRuns: 2000 };

/** decode, turning DecodeError into undefined; any other exception escapes and fails the test. */
function tryDecode(bytes: Uint8Array): Frame | undefined {
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** Whatever decodes must re-encode to the same bytes, modulo unknown flag bits (cleared). */
function checkCanonical(bytes: Uint8Array, f: Frame): void {
  expect(encode(f)).toEqual(canonicalBytes(bytes, f));
}

describe("valid frames", () => {
  test("encode -> decode round-trips and encodingLength matches", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = encode(f);
        expect(bytes.length).toBe(encodingLength(f));
        expect(isFramed(bytes)).toBe(true);
        expect(decode(bytes)).toEqual(f);
      }),
      RUNS,
    );
  });
});

describe("hostile input: decode returns a frame or throws DecodeError, nothing else", () => {
  test("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const f = tryDecode(b);
        if (f) checkCanonical(b, f);
      }),
      RUNS,
    );
  });

  test("random bodies behind a valid header of every known type", () => {
    const codes = Object.values(TypeCode);
    fc.assert(
      fc.property(
        fc.constantFrom(...codes),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 120 }),
        (type, flags, idSeq, body) => {
          const b = Uint8Array.from([0xff, 0x4d, 1, type, flags, ...idSeq, ...body]);
          const f = tryDecode(b);
          if (f) checkCanonical(b, f);
        },
      ),
      RUNS,
    );
  });

  test("mutations of valid frames: byte flips, truncations, extensions", () => {
    const mutated = fc
      .tuple(
        frame.map((f) => encode(f)),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 4 }),
        fc.constantFrom("flip", "truncate", "extend"),
      )
      .map(([bytes, flips, cut, extra, how]) => {
        if (how === "truncate") return bytes.slice(0, cut % bytes.length);
        if (how === "extend") return Uint8Array.from([...bytes, ...extra]);
        const b = Uint8Array.from(bytes);
        for (const [at, v] of flips) b[at % b.length] = v;
        return b;
      });
    fc.assert(
      fc.property(mutated, (b) => {
        const f = tryDecode(b);
        if (f) checkCanonical(b, f);
      }),
      RUNS,
    );
  });

  test("every strict prefix of a valid frame is rejected", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = encode(f);
        for (let n = 0; n < bytes.length; n++) {
          expect(() => decode(bytes.subarray(0, n))).toThrow(DecodeError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("legacy text is never framed", () => {
  const encodings = ["utf8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "euc-jp"];
  test("any text in any legacy CJK/UTF-8 encoding", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
        fc.constantFrom(...encodings),
        (text, enc) => {
          const bytes = Uint8Array.from(iconv.encode(text, enc));
          expect(isFramed(bytes)).toBe(false);
          expect(() => decode(bytes)).toThrow(DecodeError);
        },
      ),
      RUNS,
    );
  });

  test("text starting with 'ÿM' (U+00FF) in UTF-8 and GBK is not framed", () => {
    for (const enc of ["utf8", "gbk", "gb18030"]) {
      expect(isFramed(Uint8Array.from(iconv.encode("ÿM hi", enc)))).toBe(false);
    }
  });

  test("common chat lines", () => {
    for (const s of ["hello", "你好，世界", "こんにちは", "안녕하세요", "/me waves", "", " "]) {
      for (const enc of encodings)
        expect(isFramed(Uint8Array.from(iconv.encode(s, enc)))).toBe(false);
    }
  });
});
