import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import iconv from "iconv-lite";
import {
  decodeText,
  encodeChunks,
  encodeText,
  heardEncoding,
  normalizeEncoding,
  unencodableChars,
} from "../../src/protocol/text-codec.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("round trips", () => {
  const samples: [string, string][] = [
    ["gbk", "大家好，世界！"],
    ["gb18030", "大家好 😀 𠀀"],
    ["big5", "大家好，世界"],
    ["shift_jis", "こんにちは、世界"],
    ["euc-kr", "안녕하세요 세계"],
    ["euc-jp", "こんにちは"],
    ["utf8", "héllo 大家 😀"],
  ];
  test.each(samples)("%s", (enc, text) => {
    const bytes = encodeText(text, enc);
    expect(decodeText(bytes, enc)).toBe(text);
    expect(unencodableChars(text, enc)).toEqual([]);
  });

  test("GBK bytes are the legacy program's bytes", () => {
    // 大家好 in GBK (CP936)
    expect(hex(encodeText("大家好", "gbk"))).toBe("b4f3bcd2bac3");
  });
});

describe("decodeText", () => {
  test("auto: valid UTF-8 as UTF-8, otherwise GB18030", () => {
    expect(decodeText(new TextEncoder().encode("大家好"), "auto")).toBe("大家好");
    expect(decodeText(Buffer.from("b4f3bcd2bac3", "hex"), "auto")).toBe("大家好");
  });
  test("drops trailing NULs a C sender may include", () => {
    expect(decodeText(Buffer.from("b4f3bcd2bac30000", "hex"), "gbk")).toBe("大家好");
  });
});

describe("unencodableChars", () => {
  test("lists each unencodable character once, in order", () => {
    expect(unencodableChars("a😀b😀ć", "gbk")).toEqual(["😀", "ć"]);
  });
  test("a literal ? is not reported", () => {
    expect(unencodableChars("why?", "big5")).toEqual([]);
  });
  test("UTF-8 can encode everything", () => {
    expect(unencodableChars("😀", "utf8")).toEqual([]);
  });
});

describe("encodeChunks", () => {
  test("short text is one chunk", () => {
    expect(encodeChunks("hi", "gbk").length).toBe(1);
  });

  test("splits 3,000 GBK characters on character boundaries, each ≤ 1,023 bytes", () => {
    const text = "大家好，世界".repeat(500);
    const chunks = encodeChunks(text, "gbk");
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(1023);
      // every chunk decodes on its own, without a broken character
      expect(decodeText(c, "gbk")).not.toContain("\ufffd");
    }
    expect(chunks.map((c) => decodeText(c, "gbk")).join("")).toBe(text);
  });

  test("mixed widths in GB18030 (1, 2 and 4 bytes)", () => {
    const text = "a大😀".repeat(400);
    const chunks = encodeChunks(text, "gb18030", 100);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(100);
    expect(chunks.map((c) => iconv.decode(Buffer.from(c), "gb18030")).join("")).toBe(text);
  });

  test("property: any text, any encoding of the list, any limit: chunks fit and rejoin", () => {
    const encs = ["utf8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr"];
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.constantFrom(...encs),
        fc.integer({ min: 4, max: 64 }),
        (text, enc, max) => {
          const chunks = encodeChunks(text, enc, max);
          for (const c of chunks) expect(c.length).toBeLessThanOrEqual(max);
          const joined = chunks.map((c) => decodeText(c, enc)).join("");
          const whole = decodeText(encodeText(text, enc), enc);
          expect(joined).toBe(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});

test("normalizeEncoding", () => {
  expect(normalizeEncoding("UTF-8")).toBe("utf8");
  expect(normalizeEncoding("GBK")).toBe("gbk");
  expect(normalizeEncoding("Shift_JIS")).toBe("shift_jis");
  expect(normalizeEncoding("auto")).toBe("auto");
  expect(normalizeEncoding("klingon")).toBeUndefined();
});

describe("heardEncoding: what a legacy datagram says about its sender", () => {
  test("ASCII says nothing; valid UTF-8 is utf8; GBK (not UTF-8) is gbk", () => {
    expect(heardEncoding(new TextEncoder().encode("hello\0\0"))).toBe("ascii");
    expect(heardEncoding(new TextEncoder().encode("大家好"))).toBe("utf8");
    expect(heardEncoding(iconv.encode("大家好，我是旧程序", "gbk"))).toBe("gbk");
    expect(heardEncoding(iconv.encode("大家好\0", "gbk"))).toBe("gbk");
  });

  test("bytes GB18030 cannot read back are unknown", () => {
    expect(heardEncoding(new Uint8Array([0x81, 0x20, 0xff]))).toBe("unknown");
  });
});

test('sending "auto" (before a session resolves it) is GBK, not UTF-8', () => {
  expect(hex(encodeText("大家好", "auto"))).toBe("b4f3bcd2bac3");
  expect(unencodableChars("好😀", "auto")).toEqual(["😀"]);
});
