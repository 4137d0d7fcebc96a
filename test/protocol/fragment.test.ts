import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  checkMessageSize,
  DecodeError,
  fragmentText,
  joinFragments,
  MAX_FRAGMENT_PAYLOAD,
  MAX_MESSAGE_BYTES,
} from "../../src/protocol/index.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

describe("fragmentText", () => {
  test("short text is one fragment", () => {
    const parts = fragmentText("hello");
    expect(parts).toHaveLength(1);
    expect(joinFragments(parts)).toBe("hello");
  });

  test("empty text is one empty fragment", () => {
    expect(fragmentText("")).toEqual([new Uint8Array(0)]);
    expect(joinFragments(fragmentText(""))).toBe("");
  });

  test("exactly 1200 bytes is one fragment, 1201 is two", () => {
    expect(fragmentText("a".repeat(1200))).toHaveLength(1);
    const two = fragmentText("a".repeat(1201));
    expect(two.map((p) => p.length)).toEqual([1200, 1]);
  });

  test("10,000 CJK chars come back identical, every fragment valid UTF-8 and <= 1200 bytes", () => {
    let text = "";
    for (let i = 0; i < 10_000; i++) text += String.fromCodePoint(0x4e00 + ((i * 7919) % 20000));
    const parts = fragmentText(text);
    expect(parts.length).toBe(Math.ceil(30_000 / 1200));
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(MAX_FRAGMENT_PAYLOAD);
      expect(() => strict.decode(p)).not.toThrow();
    }
    expect(joinFragments(parts)).toBe(text);
  });

  test("4-byte code points (emoji) are never split", () => {
    const text = `x${"😀".repeat(1000)}`; // 1 + 4000 bytes: cuts fall mid-emoji
    const parts = fragmentText(text);
    for (const p of parts) expect(() => strict.decode(p)).not.toThrow();
    expect(parts[0]?.length).toBe(1197);
    expect(joinFragments(parts)).toBe(text);
  });

  test("a leading BOM survives", () => {
    expect(joinFragments(fragmentText("\uFEFFhi"))).toBe("\uFEFFhi");
  });

  test("rejects maxPayload < 4", () => {
    expect(() => fragmentText("abc", 3)).toThrow(RangeError);
  });

  test("property: any well-formed text round-trips, fragments bounded and valid", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.integer({ min: 4, max: 64 }),
        (text, max) => {
          const parts = fragmentText(text, max);
          expect(parts.length).toBeGreaterThanOrEqual(1);
          for (const p of parts) {
            expect(p.length).toBeLessThanOrEqual(max);
            strict.decode(p);
          }
          expect(joinFragments(parts)).toBe(text);
        },
      ),
    );
  });
});

describe("joinFragments", () => {
  test("invalid UTF-8 throws DecodeError bad-text", () => {
    expect(() => joinFragments([new Uint8Array([0xe4, 0xb8])])).toThrow(DecodeError);
  });
});

describe("checkMessageSize", () => {
  test("returns the UTF-8 byte length", () => {
    expect(checkMessageSize("héllo")).toBe(6);
    expect(checkMessageSize("a".repeat(MAX_MESSAGE_BYTES))).toBe(MAX_MESSAGE_BYTES);
  });
  test("refuses more than 65,536 bytes with a clear plain Error", () => {
    expect(() => checkMessageSize("中".repeat(21846))).toThrow(/too long: 65538 bytes.*65536/);
    let err: unknown;
    try {
      checkMessageSize("a".repeat(MAX_MESSAGE_BYTES + 1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DecodeError);
  });
});
