import { expect, test } from "bun:test";
import { ctrlCHandler } from "../../src/ui/ctrl-c.ts";

/** A line editor that applies Ctrl-E / Ctrl-U as readline does. */
function editor(line: string) {
  const e = {
    line,
    cursor: 0,
    keys: [] as string[],
    write(_data: null, key: { ctrl: boolean; name: string }) {
      e.keys.push(`C-${key.name}`);
      if (key.name === "e") e.cursor = e.line.length;
      if (key.name === "u") {
        e.line = e.line.slice(e.cursor);
        e.cursor = 0;
      }
    },
  };
  return e;
}

test("Ctrl-C: a draft is cleared (hint once), an empty line leaves (issue 16)", () => {
  const ed = editor("half typed");
  const did: string[] = [];
  const onCtrlC = ctrlCHandler(ed, {
    leave: () => did.push("leave"),
    hint: () => did.push("hint"),
  });
  onCtrlC();
  expect(ed.line).toBe("");
  expect(did).toEqual(["hint"]);
  ed.line = "again";
  onCtrlC();
  expect(ed.line).toBe("");
  expect(did).toEqual(["hint"]);
  onCtrlC();
  expect(did).toEqual(["hint", "leave"]);
  expect(ed.keys).toEqual(["C-e", "C-u", "C-e", "C-u"]);
});

test("Ctrl-C on an empty line leaves at once, without a hint", () => {
  const did: string[] = [];
  ctrlCHandler(editor(""), { leave: () => did.push("leave"), hint: () => did.push("hint") })();
  expect(did).toEqual(["leave"]);
});

test("Ctrl-C while a question waits (a paste: send them?) answers no and stays", () => {
  const did: string[] = [];
  let asking = true;
  const onCtrlC = ctrlCHandler(editor(""), {
    leave: () => did.push("leave"),
    hint: () => did.push("hint"),
    cancel: () => {
      if (!asking) return false;
      asking = false;
      did.push("cancel");
      return true;
    },
  });
  onCtrlC();
  expect(did).toEqual(["cancel"]);
  onCtrlC();
  expect(did).toEqual(["cancel", "leave"]);
});
