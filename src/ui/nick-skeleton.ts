/**
 * The skeleton of a nick (pure): what it looks like, reduced so that two nicks a reader
 * cannot tell apart on a terminal have the same skeleton. format.ts decides on it whether
 * two present members need the `#id` suffix.
 *
 * Steps, in order (after UTS #39's "skeleton", simplified for a chat pane):
 * 1. Invisible code points removed: every Default_Ignorable_Code_Point (ZWJ/ZWNJ, soft
 *    hyphen, Hangul fillers U+115F/U+1160/U+3164/U+FFA0, variation selectors, bidi controls,
 *    tags, CGJ, Mongolian selectors…) and the blank-looking BRAILLE PATTERN BLANK U+2800.
 * 2. NFKD: compatibility forms to their plain letters (fullwidth `ａ`, mathematical `𝐚`,
 *    ligature `ﬁ`, `ℓ`) and accents split off their letters (so `ё` is `е` + diaeresis).
 * 3. Confusables folded with CONFUSABLES below: the Cyrillic, Greek, Armenian and Latin
 *    letters that look like a basic Latin letter in common terminal fonts, and `0`/`O`,
 *    `1`/`l`/`I`/`i`/`|`.
 * 4. Case-folded (upper, then lower case: `ß` → `ss`, `ς` → `σ`), and step 3 again for what
 *    folding produced.
 * 5. Invisible code points removed again (folding can bring none, but NFKD can); then NFC.
 *
 * Not folded (a deliberate choice: each would merge nicks that a monospace font shows
 * apart): multi-letter look-alikes (`rn`/`m`, `vv`/`w`, `cl`/`d`), accented letters versus
 * plain ones (`é`/`e`), and letters with no Latin twin (Cyrillic `б`, Greek `λ`). An extra
 * suffix costs nothing, a missing one lets a member pass for another: when in doubt the
 * table folds.
 */

/** Invisible in any terminal: Default_Ignorable_Code_Point and BRAILLE PATTERN BLANK. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/gu;

/**
 * Look-alike → the basic Latin letter (or digit) it passes for. Case matters here: it runs
 * before case folding, so an upper-case letter maps to the letter it looks like in upper case
 * (Greek `Η` → `H`), a lower-case one to its lower-case twin (`η` → `n`).
 */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Digits and Latin letters that pass for each other. The vertical strokes are one class:
  // `I` passes for `l`, and case folding makes it `i`, so `i`, `l`, `I`, `1` and `|` all
  // fold to `l` (`ALICE`, `alice` and `aIice` are one skeleton).
  "0": "o",
  "1": "l",
  i: "l",
  I: "l",
  "|": "l",
  ǀ: "l", // U+01C0 dental click
  ı: "l", // dotless i
  ɩ: "l",
  ɡ: "g", // script g
  ɑ: "a",
  ɢ: "G", // small capital G
  ʀ: "r",
  ʏ: "y",
  ᴠ: "v",
  ᴡ: "w",
  ᴢ: "z",
  // Cyrillic, lower case.
  а: "a",
  в: "b",
  е: "e",
  һ: "h",
  і: "l",
  ј: "j",
  к: "k",
  ӏ: "l", // palochka
  м: "m",
  н: "h",
  о: "o",
  р: "p",
  с: "c",
  ԛ: "q",
  г: "r",
  ѕ: "s",
  т: "t",
  у: "y",
  ү: "y",
  ԝ: "w",
  х: "x",
  ԁ: "d",
  ь: "b",
  п: "n",
  // Cyrillic, upper case.
  А: "A",
  В: "B",
  С: "C",
  Е: "E",
  Н: "H",
  І: "l",
  Ӏ: "l",
  Ј: "J",
  К: "K",
  М: "M",
  О: "O",
  Р: "P",
  Ԛ: "Q",
  Ѕ: "S",
  Т: "T",
  Х: "X",
  У: "Y",
  Ү: "Y",
  Ԝ: "W",
  // Greek, lower case.
  α: "a",
  β: "b",
  γ: "y",
  ε: "e",
  η: "n",
  ι: "l",
  κ: "k",
  ν: "v",
  ο: "o",
  ρ: "p",
  σ: "o",
  τ: "t",
  υ: "u",
  χ: "x",
  ω: "w",
  // Greek, upper case.
  Α: "A",
  Β: "B",
  Ε: "E",
  Ζ: "Z",
  Η: "H",
  Ι: "l",
  Κ: "K",
  Μ: "M",
  Ν: "N",
  Ο: "O",
  Ρ: "P",
  Τ: "T",
  Υ: "Y",
  Χ: "X",
  // Armenian.
  օ: "o",
  ս: "u",
  հ: "h",
  ո: "n",
  ց: "g",
  զ: "q",
};

function fold(s: string): string {
  let out = "";
  for (const ch of s) out += CONFUSABLES[ch] ?? ch;
  return out;
}

/**
 * The skeleton of a nick as shown (sanitizeNick's result): equal skeletons mean a reader
 * could take one nick for the other.
 */
export function nickSkeleton(shown: string): string {
  const plain = shown.toWellFormed().replace(INVISIBLE, "").normalize("NFKD");
  const folded = fold(fold(plain).toUpperCase().toLowerCase());
  return folded.replace(INVISIBLE, "").normalize("NFC");
}
