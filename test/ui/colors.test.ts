import { describe, expect, test } from "bun:test";
import { colorEnabled, makeColors, nickColor, nickHash } from "../../src/ui/colors.ts";

describe("colorEnabled", () => {
  test.each([
    [{}, true, true],
    [{}, false, false],
    [{ TERM: "dumb" }, true, false],
    [{ NO_COLOR: "1" }, true, false],
    [{ NO_COLOR: "" }, true, true],
    [{ FORCE_COLOR: "1" }, false, true],
    [{ FORCE_COLOR: "" }, false, true],
    [{ FORCE_COLOR: "3" }, false, true],
    [{ FORCE_COLOR: "0" }, true, false],
    [{ FORCE_COLOR: "false" }, true, false],
    [{ FORCE_COLOR: "1", NO_COLOR: "1" }, false, true],
    [{ FORCE_COLOR: "0", NO_COLOR: "" }, true, false],
  ] as [Record<string, string>, boolean, boolean][])("%j isTTY=%p → %p", (env, isTTY, want) => {
    expect(colorEnabled({ env, isTTY })).toBe(want);
  });

  test("makeColors follows the decision", () => {
    expect(makeColors({ env: { NO_COLOR: "1" }, isTTY: true }).red("x")).toBe("x");
    expect(makeColors({ env: { FORCE_COLOR: "1" }, isTTY: false }).red("x")).toBe(
      "\x1b[31mx\x1b[39m",
    );
  });
});

describe("nickColor", () => {
  const on = makeColors({ env: { FORCE_COLOR: "1" }, isTTY: false });
  test("stable per nick, spread across the palette", () => {
    expect(nickColor("alice", on)("a")).toBe(nickColor("alice", on)("a"));
    const seen = new Set(Array.from({ length: 200 }, (_, i) => nickColor(`user${i}`, on)("a")));
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect([...seen].some((s) => s.includes("[31m"))).toBe(false); // no red
  });
  test("hash is FNV-1a (fixed across versions)", () => {
    expect(nickHash("")).toBe(0x811c9dc5);
    expect(nickHash("a")).toBe(0xe40c292c);
  });
  test("no escape codes without colour", () => {
    const off = makeColors({ env: {}, isTTY: false });
    expect(nickColor("alice", off)("alice")).toBe("alice");
  });
});
