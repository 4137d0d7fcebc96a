/**
 * Tab completion for the chat prompt (readline `completer`, pure): "/wh" → "/who ",
 * "bo" → "bob: " at the start of a line, "… bo" → "… bob " elsewhere.
 * Matching is case-sensitive: readline inserts only the missing tail of a single hit.
 */
import { commandsMatching } from "./commands.ts";

export type Completer = (line: string) => [string[], string];

/** `names()`: the display names to offer (present members, without ourselves). */
export function makeCompleter(names: () => readonly string[]): Completer {
  return (line) => {
    if (/^\/\S*$/.test(line) && !line.startsWith("//")) {
      return [commandsMatching(line.slice(1)).map((c) => `/${c.name} `), line];
    }
    const word = /\S*$/.exec(line)?.[0] ?? "";
    if (word === "") return [[], word];
    const first = word.length === line.length;
    const hits = [...new Set(names())]
      .filter((n) => n.startsWith(word))
      .sort()
      .map((n) => (first ? `${n}: ` : `${n} `));
    return [hits, word];
  };
}
