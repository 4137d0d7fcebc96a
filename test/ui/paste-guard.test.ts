import { describe, expect, test } from "bun:test";
import { PASTE_WINDOW_MS, PasteGuard } from "../../src/ui/paste-guard.ts";
import { ManualTimers } from "./quiet-timers.ts";

function guard(confirm = true) {
  const t = new ManualTimers();
  const passed: string[] = [];
  const said: string[] = [];
  const g = new PasteGuard({
    confirm,
    setTimer: t.setTimer,
    pass: (lines) => passed.push(...lines),
    say: (line) => said.push(line),
  });
  return { t, g, passed, said };
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe("PasteGuard", () => {
  test("a typed line goes through", () => {
    const { t, g, passed, said } = guard();
    g.line("hello");
    t.advance(PASTE_WINDOW_MS);
    t.advance(500);
    g.line("again");
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual(["hello", "again"]);
    expect(said).toEqual([]);
  });

  test("20 lines at once ask first; y sends them all, in order", () => {
    const { t, g, passed, said } = guard();
    for (const l of lines(20)) g.line(l);
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual([]);
    expect(said).toEqual(['paste of 20 lines (first: "line 1"): send them? [y/N]']);
    g.line("y");
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual(lines(20));
  });

  test("anything but y drops the paste", () => {
    const { t, g, passed, said } = guard();
    for (const l of lines(3)) g.line(l);
    t.advance(PASTE_WINDOW_MS);
    g.line("");
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual([]);
    expect(said.at(-1)).toBe("not sent (3 pasted lines)");
    g.line("next");
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual(["next"]);
  });

  test("blank lines around a single line are no paste", () => {
    const { t, g, passed, said } = guard();
    g.line("one");
    g.line("");
    t.advance(PASTE_WINDOW_MS);
    expect(passed).toEqual(["one", ""]);
    expect(said).toEqual([]);
  });

  test("turned off: every line goes through at once", () => {
    const { g, passed, said } = guard(false);
    for (const l of lines(5)) g.line(l);
    expect(passed).toEqual(lines(5));
    expect(said).toEqual([]);
  });
});
