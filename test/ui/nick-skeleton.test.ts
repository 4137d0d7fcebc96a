/**
 * nickSkeleton: nicks a reader cannot tell apart on a terminal get one skeleton (issue 15:
 * `alice` plus a zero-width joiner, a soft hyphen, a Hangul filler, or with a Cyrillic `е`
 * showed as a second plain `<alice>`); nicks that look different keep different ones.
 */
import { describe, expect, test } from "bun:test";
import { nickSkeleton } from "../../src/ui/nick-skeleton.ts";
import { sanitizeNick } from "../../src/ui/sanitize.ts";

/** The skeleton of a nick as it is shown (what format.ts compares). */
const sk = (nick: string) => nickSkeleton(sanitizeNick(nick));

describe("nickSkeleton", () => {
  test("invisible code points are removed", () => {
    const invisible = [
      "\u200D", // ZWJ
      "\u200C", // ZWNJ
      "\u00AD", // soft hyphen
      "\u3164", // HANGUL FILLER
      "\u115F", // HANGUL CHOSEONG FILLER
      "\u1160", // HANGUL JUNGSEONG FILLER
      "\uFFA0", // HALFWIDTH HANGUL FILLER
      "\uFE0F", // variation selector 16
      "\u034F", // combining grapheme joiner
      "\u180E", // Mongolian vowel separator
      "\u2060", // word joiner
      "\u202E", // RLO
      "\u{E0041}", // tag A
      "\u2800", // braille pattern blank
    ];
    for (const ch of invisible) {
      expect({ ch, sk: sk(`bob${ch}`) }).toEqual({ ch, sk: "bob" });
      expect({ ch, sk: sk(`b${ch}ob`) }).toEqual({ ch, sk: "bob" });
      expect({ ch, raw: nickSkeleton(`bo${ch}b`) }).toEqual({ ch, raw: "bob" });
      expect({ ch, alice: sk(`alice${ch}`) === sk("alice") }).toEqual({ ch, alice: true });
    }
  });

  test("Cyrillic and Greek look-alikes fold to Latin", () => {
    expect(sk("alic\u0435")).toBe(sk("alice")); // Cyrillic е
    expect(sk("\u0430lice")).toBe(sk("alice")); // Cyrillic а
    expect(sk("\u0430\u04cf\u0456\u0441\u0435")).toBe(sk("alice")); // а ӏ і с е
    const cyrillic: [string, string][] = [
      ["а", "a"],
      ["е", "e"],
      ["о", "o"],
      ["р", "p"],
      ["с", "c"],
      ["у", "y"],
      ["х", "x"],
      ["і", "l"],
      ["ј", "j"],
      ["ѕ", "s"],
      ["ԁ", "d"],
      ["ԛ", "q"],
      ["ԝ", "w"],
      ["һ", "h"],
    ];
    for (const [c, l] of cyrillic) expect({ c, sk: sk(c) }).toEqual({ c, sk: l });
    const greek: [string, string][] = [
      ["ο", "o"],
      ["α", "a"],
      ["ν", "v"],
      ["ρ", "p"],
      ["ι", "l"],
      ["κ", "k"],
      ["Α", "a"],
      ["Β", "b"],
      ["Ε", "e"],
      ["Η", "h"],
      ["Ο", "o"],
      ["Ρ", "p"],
      ["Τ", "t"],
      ["Χ", "x"],
    ];
    for (const [c, l] of greek) expect({ c, sk: sk(c) }).toEqual({ c, sk: l });
    expect(sk("\u0412\u041e\u0412")).toBe(sk("BOB")); // Cyrillic ВОВ
    expect(sk("\u0440\u0430\u0443\u0440\u0430\u0441")).toBe(sk("paypac"));
  });

  test("digits and letters that pass for each other: 0/O/o, 1/l/I/i/|", () => {
    expect(sk("b0b")).toBe(sk("bob"));
    expect(sk("BOB")).toBe(sk("bob"));
    expect(sk("a1ice")).toBe(sk("alice"));
    expect(sk("aIice")).toBe(sk("alice"));
    expect(sk("a|ice")).toBe(sk("alice"));
    expect(sk("ALICE")).toBe(sk("alice"));
    expect(sk("alIce")).toBe(sk("alice"));
  });

  test("compatibility forms (NFKC) and case fold", () => {
    expect(sk("\uff41\uff4c\uff49\uff43\uff45")).toBe(sk("alice")); // fullwidth
    expect(sk("\u{1d41a}lice")).toBe(sk("alice")); // mathematical bold a
    expect(sk("Alice")).toBe(sk("alice"));
    expect(sk("B\u00d6B")).toBe(sk("b\u00f6b"));
    expect(sk("ALICE")).toBe(sk("alice"));
    expect(sk("stra\u00dfe")).toBe(sk("STRASSE")); // ß
    expect(sk("\ufb01sh")).toBe(sk("fish")); // ligature fi
    // A decomposed accent and a precomposed one are the same letter.
    expect(sk("caf\u00e9")).toBe(sk("cafe\u0301"));
  });

  test("nicks that look different keep different skeletons", () => {
    const distinct = ["alice", "alicia", "bob", "bobby", "caf\u00e9", "ali", "бл", "λ", "😀", "?"];
    const skeletons = distinct.map(sk);
    expect(new Set(skeletons).size).toBe(distinct.length);
    expect(sk("caf\u00e9")).not.toBe(sk("cafe"));
  });

  test("idempotent", () => {
    for (const n of ["alic\u0435", "a\u200Dlice", "B0B", "\u{1d41a}l\u0456ce", "ЖЖ"]) {
      expect(nickSkeleton(nickSkeleton(n))).toBe(nickSkeleton(n));
    }
  });
});
