/**
 * Whether a line mentions a nick (pure): the nick as a whole word, case-insensitive, in the
 * text as written or in its skeleton (nick-skeleton.ts), so `ANNA:`, `@anna` and `аnna`
 * (Cyrillic а) ring, `annabel` and `joanna` do not. Chinese and Japanese are written without
 * spaces: a nick in those scripts rings wherever it stands (`你好小明`).
 */
import { nickSkeleton } from "./nick-skeleton.ts";
import { sanitizeNick } from "./sanitize.ts";

/** A letter, digit, mark or `_` just before / just after: the word goes on. */
const WORD_BEFORE = /[\p{L}\p{N}\p{M}_]$/u;
const WORD_AFTER = /^[\p{L}\p{N}\p{M}_]/u;

/** Scripts written without spaces: a nick that starts (ends) with one needs no word edge there. */
const UNSPACED_FIRST = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const UNSPACED_LAST = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;

function hasWord(text: string, word: string): boolean {
  if (word === "") return false;
  const freeBefore = UNSPACED_FIRST.test(word);
  const freeAfter = UNSPACED_LAST.test(word);
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
    const before = text.slice(Math.max(0, at - 2), at);
    const after = text.slice(at + word.length, at + word.length + 2);
    if ((freeBefore || !WORD_BEFORE.test(before)) && (freeAfter || !WORD_AFTER.test(after))) {
      return true;
    }
  }
  return false;
}

/** `text` says `nick` as a word (plain or look-alike, any case). */
export function mentions(text: string, nick: string): boolean {
  const shown = sanitizeNick(nick);
  if (hasWord(text.toLowerCase(), shown.toLowerCase())) return true;
  return hasWord(nickSkeleton(text), nickSkeleton(shown));
}
