import { expect, test } from "bun:test";
import { findEncodingChoice, WIZARD_ENCODINGS } from "../../src/config/encodings.ts";
import { normalizeEncoding } from "../../src/protocol/text-codec.ts";

test("every listed encoding is accepted by the codec", () => {
  for (const c of WIZARD_ENCODINGS) expect(normalizeEncoding(c.value)).toBe(c.value);
});

test("the list starts with UTF-8 and has the CJK encodings", () => {
  expect(WIZARD_ENCODINGS.map((c) => c.label)).toEqual([
    "UTF-8",
    "GBK",
    "GB18030",
    "Big5",
    "Shift_JIS",
    "EUC-KR",
    "auto",
  ]);
});

test("findEncodingChoice matches spellings loosely", () => {
  expect(findEncodingChoice("UTF-8")?.value).toBe("utf8");
  expect(findEncodingChoice("utf8")?.value).toBe("utf8");
  expect(findEncodingChoice("Shift-JIS")?.value).toBe("shift_jis");
  expect(findEncodingChoice("EUCKR")?.value).toBe("euc-kr");
  expect(findEncodingChoice("latin1")).toBeUndefined();
});
