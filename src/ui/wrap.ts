/**
 * Lines cut into terminal rows (pure), so that no text but a line's own start reaches
 * column 0: continuation rows are indented. Without this a message padded to the pane's
 * width (`brb` + spaces + `18:32:55 <alice> …`) wraps, in the terminal, into a row that
 * looks like a line of its own from alice. We cut the rows ourselves at the real width and
 * indent every row after the first, whatever the width and whatever pads the text (spaces,
 * TABs, Unicode spaces, Hangul fillers, visible characters).
 *
 * Widths are counted so that no terminal takes a row for wider than we did: escape sequences
 * (our colours) take no room; combining marks, ZWJ/ZWNJ and variation selectors none;
 * every other code point at least one column (Bun.stringWidth says 0 for a soft hyphen,
 * which glibc's wcwidth and so many terminals show one column wide); an emoji sequence the
 * sum of its parts (a terminal that does not join it shows each part). A row we count too
 * wide only ends early. TABs become spaces to the next stop of 8.
 */

/** ANSI escape sequences (CSI, as colours are written), which take no columns. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are the point
const ESCAPE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** Zero-width in every terminal: combining marks (variation selectors are Mn), ZWJ/ZWNJ. */
const ZERO_WIDTH = /^(?:\p{Mn}|\p{Me}|\u200C|\u200D)$/u;

const TAB_SIZE = 8;

/**
 * Columns a continuation row is indented by: the width of a line's time stamp and its space
 * ("18:32:55 "), so continuation rows start under the speaker's name and only a line's own
 * first row starts with a time stamp.
 */
export const CONTINUATION_INDENT = 9;

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Columns one grapheme cluster can take on any terminal (see the header). */
export function clusterWidth(cluster: string): number {
  let sum = 0;
  for (const ch of cluster) {
    if (ZERO_WIDTH.test(ch)) continue;
    sum += Math.max(1, Bun.stringWidth(ch));
  }
  return Math.max(sum, Bun.stringWidth(cluster));
}

/** `line` split into escape sequences and grapheme clusters, in order. */
function* pieces(line: string): Generator<{ escape: boolean; text: string }> {
  let at = 0;
  for (const m of line.matchAll(ESCAPE)) {
    for (const { segment } of graphemes.segment(line.slice(at, m.index))) {
      yield { escape: false, text: segment };
    }
    yield { escape: true, text: m[0] };
    at = m.index + m[0].length;
  }
  for (const { segment } of graphemes.segment(line.slice(at)))
    yield { escape: false, text: segment };
}

/** Lines → rows for a `columns`-wide terminal, continuation rows indented by CONTINUATION_INDENT. */
export function wrapLines(lines: readonly string[], columns: number): string[] {
  return lines.flatMap((l) => wrapRows(l, columns, CONTINUATION_INDENT));
}

/**
 * One display line (no line breaks in it) → rows of at most `columns` columns, every row after
 * the first starting with `indent` spaces (at most half the width, so text always has room).
 * A width that is not a finite number of at least 2 leaves the line whole.
 */
export function wrapRows(line: string, columns: number, indent: number): string[] {
  if (!Number.isFinite(columns) || columns < 2) return [line];
  const pad = " ".repeat(Math.max(1, Math.min(indent, Math.floor(columns / 2))));
  const rows: string[] = [];
  let row = "";
  let used = 0;
  /** Columns a row starts with: 0 for the first, the indent after. */
  let start = 0;
  const newRow = () => {
    rows.push(row);
    row = pad;
    used = start = pad.length;
  };
  for (const p of pieces(line)) {
    if (p.escape) {
      row += p.text;
      continue;
    }
    if (p.text === "\t") {
      for (let n = TAB_SIZE - (used % TAB_SIZE); n > 0; n--) {
        if (used >= columns) newRow();
        row += " ";
        used++;
      }
      continue;
    }
    const w = clusterWidth(p.text);
    // A cluster wider than a whole row (a long emoji sequence in a narrow pane) goes alone.
    if (used + w > columns && used > start) newRow();
    row += p.text;
    used += w;
  }
  rows.push(row);
  return rows;
}
