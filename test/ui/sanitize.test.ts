import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import iconv from "iconv-lite";
import { MAX_NICK_BYTES } from "../../src/protocol/constants.ts";
import { escapeControl, sanitizeForTerminal, sanitizeNick } from "../../src/ui/sanitize.ts";

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

const BIDI = [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e]
  .concat([0x2066, 0x2067, 0x2068, 0x2069])
  .map((c) => String.fromCodePoint(c));

/** The first forbidden code point in a display line, or undefined. */
function forbidden(line: string): string | undefined {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 && c !== 0x09) return `C0 ${c}`;
    if (c >= 0x7f && c <= 0x9f) return `DEL/C1 ${c}`;
    if (c === 0x2028 || c === 0x2029) return `separator ${c}`;
    if (BIDI.includes(line[i] as string)) return `bidi ${c}`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = line.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return "lone high surrogate";
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return "lone low surrogate";
  }
  return undefined;
}

function expectSafe(text: string): string[] {
  const lines = sanitizeForTerminal(text);
  for (const line of lines) expect(forbidden(line)).toBeUndefined();
  return lines;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe("sanitizeForTerminal: every byte", () => {
  test("all 256 bytes as ISO-8859-1 (real C1) become visible escapes", () => {
    const text = iconv.decode(ALL_BYTES, "latin1");
    expect(text.length).toBe(256);
    const lines = expectSafe(text);
    expect(lines).toHaveLength(2); // the LF (0x0a) breaks once
    expect(lines[0]).toStartWith("^@^A^B^C^D^E^F^G^H\t");
    expect(lines[1]).toStartWith("^K^L^M^N");
    expect(lines[1]).toContain("~^?\\x80\\x81");
    expect(lines[1]).toContain("\\x9b\\x9c\\x9d\\x9e\\x9f\u00a0¡");
    expect(lines[1]).toEndWith("ÿ");
  });

  test("every single byte, alone, through latin1, windows-1252, GBK and UTF-8", () => {
    for (let b = 0; b < 256; b++) {
      const buf = Buffer.from([b]);
      expectSafe(iconv.decode(buf, "latin1"));
      expectSafe(new TextDecoder("windows-1252").decode(buf));
      expectSafe(new TextDecoder("gbk").decode(buf));
      expectSafe(iconv.decode(buf, "gbk"));
      expectSafe(new TextDecoder("utf-8").decode(buf));
    }
  });

  test("all bytes as one GBK and one UTF-8 buffer", () => {
    expectSafe(new TextDecoder("gbk").decode(ALL_BYTES));
    expectSafe(iconv.decode(ALL_BYTES, "gb18030"));
    expectSafe(new TextDecoder("utf-8").decode(ALL_BYTES));
  });

  test("U+0000–U+00FF encoded as UTF-8 and GBK, then decoded", () => {
    const text = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    expectSafe(new TextDecoder().decode(Buffer.from(text, "utf8")));
    expectSafe(iconv.decode(iconv.encode(text, "gb18030"), "gb18030"));
  });
});

describe("sanitizeForTerminal: attacks", () => {
  test.each([
    ["OSC 0 title", "\x1b]0;pwned\x07", "^[]0;pwned^G"],
    ["OSC 2 title, ST end", "\x1b]2;pwned\x1b\\", "^[]2;pwned^[\\"],
    ["OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07", "^[]52;c;cm0gLXJmIH4=^G"],
    ["8-bit OSC", "\x9d0;pwned\x9c", "\\x9d0;pwned\\x9c"],
    ["CSI clear", "\x1b[2J", "^[[2J"],
    ["8-bit CSI", "\x9b2J", "\\x9b2J"],
    ["cursor up + erase", "ok\x1b[1A\x1b[2K", "ok^[[1A^[[2K"],
    ["lone CR overwrite", "hello\rbye", "hello^Mbye"],
    ["backspaces", "abc\b\b\b", "abc^H^H^H"],
  ])("%s", (_name, input, shown) => {
    expect(expectSafe(input)).toEqual([shown]);
  });

  test("bidi controls are removed", () => {
    const text = `a${BIDI.join("")}b`;
    expect(expectSafe(text)).toEqual(["ab"]);
    expect(expectSafe("file\u202Etxt.exe")).toEqual(["filetxt.exe"]);
  });

  test("invisible format characters are removed, ZWJ emoji kept", () => {
    expect(expectSafe("a\u200Bb\uFEFFc\u2060d\u{E0041}e")).toEqual(["abcde"]);
    expect(expectSafe("👩\u200D💻")).toEqual(["👩\u200D💻"]);
  });
});

describe("sanitizeForTerminal: lines", () => {
  test("LF, CRLF, U+2028 and U+2029 break lines; lone CR does not", () => {
    expect(sanitizeForTerminal("a\nb\r\nc\u2028d\u2029e\rf")).toEqual(["a", "b", "c", "d", "e^Mf"]);
    expect(sanitizeForTerminal("")).toEqual([""]);
    expect(sanitizeForTerminal("x\n")).toEqual(["x", ""]);
  });

  test("lone surrogates become U+FFFD, pairs survive", () => {
    expect(sanitizeForTerminal("a\uD800b\uDC00c😀")).toEqual(["a\uFFFDb\uFFFDc😀"]);
  });

  test("a long line is cut to maxLength ending with …", () => {
    expect(sanitizeForTerminal("x".repeat(2000))[0]).toHaveLength(2000);
    const cut = sanitizeForTerminal("x".repeat(2001))[0] ?? "";
    expect([...cut]).toHaveLength(2000);
    expect(cut).toEndWith("x…");
    expect(sanitizeForTerminal("abcdef", { maxLength: 4 })).toEqual(["abc…"]);
    expect(sanitizeForTerminal("😀😀😀😀😀", { maxLength: 3 })).toEqual(["😀😀…"]);
  });

  test("an escape is never cut in half", () => {
    expect(sanitizeForTerminal("ab\x1b[", { maxLength: 4 })).toEqual(["ab…"]);
    expect(sanitizeForTerminal("a\x9b\x9b", { maxLength: 6 })).toEqual(["a\\x9b…"]);
  });

  test("too many lines are summarised", () => {
    const lines = sanitizeForTerminal("x\n".repeat(500));
    expect(lines).toHaveLength(200);
    expect(lines[199]).toBe("[… 302 more lines]");
    expect(sanitizeForTerminal("1\n2\n3", { maxLines: 3 })).toEqual(["1", "2", "3"]);
    expect(sanitizeForTerminal("1\n2\n3\n4", { maxLines: 3 })).toEqual([
      "1",
      "2",
      "[… 2 more lines]",
    ]);
  });

  test("zalgo runs are trimmed to 8 combining marks", () => {
    const out = sanitizeForTerminal(`a${"\u0301".repeat(50)}b`)[0] ?? "";
    expect(out).toBe(`a${"\u0301".repeat(8)}b`);
  });
});

test("the '[… N more lines]' marker is held to maxLength too (found by the property below)", () => {
  const lines = sanitizeForTerminal("\n\n\r\n\r\n\r\n", { maxLength: 1, maxLines: 5 });
  expect(lines).toHaveLength(5);
  for (const line of lines) expect([...line].length).toBeLessThanOrEqual(1);
});

describe("property: no forbidden code point survives", () => {
  const nasty = fc.constantFrom(
    ..."\x00\x07\x08\x0a\x0d\x1b\x7f\x85\x9b\x9c\x9d\u2028\u2029\uD800\uDFFF".split(""),
    ...BIDI,
    "\r\n",
  );
  const arbitrary = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.string({ unit: fc.oneof(nasty, fc.string({ unit: "grapheme", maxLength: 2 })) }),
  );

  test("sanitizeForTerminal", () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 50 }), (s, max) => {
        const lines = sanitizeForTerminal(s, { maxLength: max, maxLines: 5 });
        expect(lines.length).toBeLessThanOrEqual(5);
        for (const line of lines) {
          expect(forbidden(line)).toBeUndefined();
          expect([...line].length).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("sanitizeNick", () => {
    fc.assert(
      fc.property(arbitrary, (s) => {
        const nick = sanitizeNick(s);
        expect(forbidden(nick)).toBeUndefined();
        expect(nick).not.toContain("\t");
        expect(nick.length).toBeGreaterThan(0);
        expect(utf8Bytes(nick)).toBeLessThanOrEqual(MAX_NICK_BYTES);
        expect(nick.toWellFormed()).toBe(nick); // no half surrogate pair
      }),
      { numRuns: 2000 },
    );
  });
});

describe("sanitizeNick", () => {
  test("flattens, escapes, trims and caps", () => {
    expect(sanitizeNick("alice")).toBe("alice");
    expect(sanitizeNick("  bob\n\tsmith ")).toBe("bob__smith");
    // Spaces inside a (crafted) nick cannot fake another speaker's line.
    expect(sanitizeNick("alice> ok, run it now <bob")).toBe("alice>_ok,_run_it_now_<bob");
    expect(sanitizeNick("ev\x1b[31mil")).toBe("ev^[[31mil");
    expect(sanitizeNick("\u202Eecila")).toBe("ecila");
    expect(sanitizeNick("")).toBe("?");
    expect(sanitizeNick("\u200B")).toBe("?");
    // At most MAX_NICK_BYTES bytes of UTF-8 as shown, "…" (3 bytes) included.
    expect(sanitizeNick("n".repeat(32))).toBe("n".repeat(32));
    expect(sanitizeNick("n".repeat(33))).toBe(`${"n".repeat(29)}…`);
    expect(sanitizeNick("张".repeat(10))).toBe("张".repeat(10)); // 30 bytes
    expect(sanitizeNick("张".repeat(11))).toBe(`${"张".repeat(9)}…`); // 27 + 3
    expect(utf8Bytes(sanitizeNick("张".repeat(11)))).toBe(30);
  });

  test("a cut never splits a character, an escape or a grapheme cluster", () => {
    // 4-byte emoji with a 4-byte skin-tone modifier: 8 bytes per cluster.
    expect(sanitizeNick("👍🏽".repeat(5))).toBe(`${"👍🏽".repeat(3)}…`);
    // e + combining acute (3 bytes per cluster).
    expect(sanitizeNick("e\u0301".repeat(11))).toBe(`${"e\u0301".repeat(9)}…`);
    // ESC is shown as "^[" (2 bytes): 28 bytes of "a", then "^[" would end at 30 > 29.
    expect(sanitizeNick(`${"a".repeat(28)}\x1bzzzz`)).toBe(`${"a".repeat(28)}…`);
    expect(sanitizeNick(`${"a".repeat(27)}\x1bzzzz`)).toBe(`${"a".repeat(27)}^[…`);
    // A valid wire nick of 32 one-byte characters is shown whole.
    expect(sanitizeNick("x".repeat(MAX_NICK_BYTES))).toBe("x".repeat(MAX_NICK_BYTES));
  });
});

test("escapeControl covers exactly C0 (not TAB), DEL and C1", () => {
  for (let cp = 0; cp < 0x100; cp++) {
    const shown = escapeControl(cp) !== undefined;
    const control = (cp < 0x20 && cp !== 9) || (cp >= 0x7f && cp <= 0x9f);
    expect(shown).toBe(control);
  }
  expect(escapeControl(0x1b)).toBe("^[");
  expect(escapeControl(0x00)).toBe("^@");
  expect(escapeControl(0x7f)).toBe("^?");
  expect(escapeControl(0x9b)).toBe("\\x9b");
});
