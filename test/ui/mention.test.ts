import { describe, expect, test } from "bun:test";
import { mentions } from "../../src/ui/mention.ts";

describe("mentions: our nick as a word, any case, plain or look-alike", () => {
  test.each([
    ["anna", "hi anna"],
    ["anna", "ANNA: look"],
    ["anna", "@anna!"],
    ["anna", "anna"],
    ["anna", "thanks, Anna."],
    ["anna", "hey \u0430nna"], // Cyrillic а
    ["anna", "hey ａｎｎａ"], // fullwidth
    ["小明", "你好小明"], // written without spaces: no word edge needed
    ["小明", "小明，你好"],
    ["bob", "bob's line"],
  ])("%s in %j", (nick, text) => {
    expect(mentions(text, nick)).toBe(true);
  });

  test.each([
    ["anna", "annabel is here"],
    ["anna", "joanna"],
    ["anna", "ann a"],
    ["anna", "anna_b"],
    ["anna", ""],
    ["bob", "bobby"],
  ])("not %s in %j", (nick, text) => {
    expect(mentions(text, nick)).toBe(false);
  });
});
