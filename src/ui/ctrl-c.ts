/**
 * Ctrl-C in the room's line editor, as in irssi, weechat and a shell: a half-typed line is
 * cleared first (the room stays); on an empty line Ctrl-C leaves. So a draft takes two
 * presses to leave (the first clears it, the second finds the line empty), an empty line
 * one. The first clear says once how to leave.
 *
 * Only the keypress (readline's "SIGINT" event on a terminal) comes here: a SIGINT sent to
 * the process (kill -INT, Ctrl-C outside the room's editor) still ends mcchat (cli.ts).
 */

/** What the handler needs of readline's Interface. */
export interface LineEditor {
  /** The line being typed. */
  readonly line: string;
  /** Feed a key to the editor as if typed. */
  write(data: null, key: { ctrl: boolean; name: string }): void;
}

export interface CtrlCActions {
  /** Leave the room (an empty line). */
  leave(): void;
  /** Say how to leave: once, at the first cleared draft. */
  hint(): void;
  /** A question waits for its answer (a paste: send them?): Ctrl-C answers no; true if one did. */
  cancel?(): boolean;
}

/** The handler for readline's "SIGINT" event. */
export function ctrlCHandler(editor: LineEditor, actions: CtrlCActions): () => void {
  let hinted = false;
  return () => {
    if (actions.cancel?.()) return;
    if (editor.line === "") return actions.leave();
    // The editor's own keys (end of line, then delete to its start) clear it, wrapped rows
    // and all, and readline redraws the prompt as for any edit.
    editor.write(null, { ctrl: true, name: "e" });
    editor.write(null, { ctrl: true, name: "u" });
    if (!hinted) {
      hinted = true;
      actions.hint();
    }
  };
}
