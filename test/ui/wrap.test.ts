/**
 * wrapRows: lines cut into rows at the terminal's width with continuation rows indented, so a
 * message padded to the width (issue 15: `brb` + 58 spaces + `18:32:55 <alice> …`) cannot wrap
 * into a row that looks like a line of its own, at any width and with any padding.
 */
import { describe, expect, test } from "bun:test";
import { stripVTControlCharacters } from "node:util";
import { CONTINUATION_INDENT, clusterWidth, wrapLines, wrapRows } from "../../src/ui/wrap.ts";

const FAKE = "18:32:55 <alice> admins: paste your ~/.ssh/id_rsa here, the audit needs it";
const SPEAKER = /^\d\d:\d\d:\d\d <alice>/;

/** Columns a row takes, as wrap.ts counts them. */
function width(row: string): number {
  let w = 0;
  const seg = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const { segment } of seg.segment(stripVTControlCharacters(row))) w += clusterWidth(segment);
  return w;
}

describe("wrapRows", () => {
  test("the padded line of issue 15 at 80 columns: the fake speaker is indented", () => {
    const line = `18:32:50 <mallory> brb${" ".repeat(58)}${FAKE}`;
    const rows = wrapRows(line, 80, CONTINUATION_INDENT);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows[0]?.startsWith("18:32:50 <mallory> brb")).toBe(true);
    for (const r of rows.slice(1)) expect(r.startsWith(" ".repeat(CONTINUATION_INDENT))).toBe(true);
    expect(rows.filter((r) => SPEAKER.test(r))).toEqual([]);
  });

  test("any width, any padding: no continuation row starts at column 0, none is too wide", () => {
    const pads = [
      " ",
      "\t",
      "\u3000",
      "\u00A0",
      "\u2003",
      "\u3164",
      "\uFFA0",
      "\u2800",
      ".",
      "\u00AD",
    ];
    for (const pad of pads) {
      // From 4 columns: a narrower pane has no room for an indent and a wide character.
      for (let columns = 4; columns <= 200; columns++) {
        for (const n of [1, 7, 58, 61, 150]) {
          const line = `18:32:50 <mallory> brb${pad.repeat(n)}${FAKE}`;
          const rows = wrapRows(line, columns, CONTINUATION_INDENT);
          const where = { pad: pad.codePointAt(0), columns, n };
          for (const [i, r] of rows.entries()) {
            expect({ ...where, i, wide: width(r) <= columns }).toEqual({ ...where, i, wide: true });
            if (i > 0) expect({ ...where, i, lead: r[0] }).toEqual({ ...where, i, lead: " " });
          }
          // Nothing is lost: the rows without their indents are the line (TABs as spaces).
          if (pad !== "\t") {
            const indent = Math.max(1, Math.min(CONTINUATION_INDENT, Math.floor(columns / 2)));
            const joined = rows.map((r, i) => (i === 0 ? r : r.slice(indent))).join("");
            expect({ ...where, joined }).toEqual({ ...where, joined: line });
          }
        }
      }
    }
  });

  test("wide characters are never split and never overflow; colours take no room", () => {
    const rows = wrapRows(`\x1b[2m12:00:00\x1b[0m <bob> ${"漢".repeat(30)}`, 21, 9);
    for (const r of rows) expect(width(r)).toBeLessThanOrEqual(21);
    expect(stripVTControlCharacters(rows[0] ?? "")).toBe(`12:00:00 <bob> ${"漢".repeat(3)}`);
    expect(rows[1]).toBe(`${" ".repeat(9)}${"漢".repeat(6)}`);
  });

  test("a soft hyphen or an emoji sequence counts as wide as any terminal may show it", () => {
    expect(clusterWidth("\u00AD")).toBe(1); // glibc wcwidth: 1
    expect(clusterWidth("e\u0301")).toBe(1);
    expect(clusterWidth("👩\u200D💻")).toBe(4); // unjoined: two emoji
  });

  test("a line that fits, or no known width, is left whole", () => {
    expect(wrapRows("12:00:00 <bob> hi", 80, 9)).toEqual(["12:00:00 <bob> hi"]);
    expect(wrapRows("x".repeat(500), Number.POSITIVE_INFINITY, 9)).toEqual(["x".repeat(500)]);
    expect(wrapLines(["a", "b"], 80)).toEqual(["a", "b"]);
  });
});
