import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { asciiFrames, asciiFramesOutput, localeWarning, utf8Locale } from "../../src/ui/locale.ts";

describe("utf8Locale: LC_ALL, then LC_CTYPE, then LANG decides", () => {
  test.each([
    [{ LANG: "C.UTF-8" }, true],
    [{ LANG: "zh_CN.utf8" }, true],
    [{ LANG: "C" }, false],
    [{ LC_ALL: "C", LANG: "en_US.UTF-8" }, false],
    [{ LC_CTYPE: "zh_CN.UTF-8", LANG: "C" }, true],
    [{ LC_ALL: "", LANG: "en_US.UTF-8" }, true],
    [{ LANG: "zh_CN.GBK" }, false],
    [{}, false],
  ])("%j → %p", (env, want) => {
    expect(utf8Locale(env)).toBe(want);
  });
});

test("asciiFrames draws clack's frames and our symbols in ASCII, and leaves text alone", () => {
  expect(asciiFrames("┌  mcchat setup\n│\n◆  Group\n│  ● Yes / ○ No\n└")).toBe(
    "T  mcchat setup\n|\n*  Group\n|  > Yes /   No\n-",
  );
  expect(asciiFrames("239.1.100.1 → eth0 …")).toBe("239.1.100.1 -> eth0 ...");
  expect(asciiFrames("大家好 hello")).toBe("大家好 hello");
});

test("asciiFramesOutput converts what is written and keeps the stream's own properties", () => {
  const written: string[] = [];
  const out = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        written.push(String(chunk));
        cb();
      },
    }),
    { columns: 77, isTTY: true },
  );
  const wrapped = asciiFramesOutput(out);
  wrapped.write("│ ◆ ok\n");
  expect(written).toEqual(["| * ok\n"]);
  expect(wrapped.columns).toBe(77);
  expect(wrapped.isTTY).toBe(true);
});

test("localeWarning: none under UTF-8, one line naming the locale otherwise", () => {
  expect(localeWarning({ LANG: "C.UTF-8" })).toBeUndefined();
  expect(localeWarning({ LANG: "C" })).toMatch(
    /^the locale \(C\) is not UTF-8: frames are drawn in ASCII/,
  );
  expect(localeWarning({})).toMatch(/^no locale is set/);
});
