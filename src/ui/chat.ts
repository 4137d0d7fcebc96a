/**
 * The interactive chat room: a readline prompt showing our nick, received events
 * printed above it, slash commands, Tab completion and history.
 *
 * Printing above a half-typed line (bun-pitfalls.md, readline): readline knows on
 * which row of a wrapped input the cursor is (`getCursorPos().rows`). We move up that
 * many rows to the prompt's first row, column 0, clear the screen below, write the
 * new lines (the terminal scrolls as needed), then let readline draw the prompt and
 * the partial line again with the cursor where it was (`prompt(true)`). readline's
 * own bookkeeping (`prevRows`) is reset first, since the prompt is now drawn afresh
 * below our lines rather than over its old place.
 */
import { clearScreenDown, createInterface, cursorTo, moveCursor } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { nickProblem } from "../config/options.ts";
import type { SessionEvent } from "../session/events.ts";
import { type Colors, nickColor } from "./colors.ts";
import {
  helpLines,
  type ParsedInput,
  parseInput,
  roomLine,
  statsLines,
  type WhoMember,
  whoLines,
} from "./commands.ts";
import { makeCompleter } from "./completer.ts";
import { CLOSE_DEADLINE_MS, quietly, withDeadline } from "./deadline.ts";
import { displayName, formatPlain } from "./format.ts";
import { sanitizeNick } from "./sanitize.ts";

/** What the chat room uses of a Session (tests pass a fake). */
export interface ChatSession {
  readonly nick: string;
  /** Counters (numbers are shown by /stats, anything else ignored). */
  readonly stats: object;
  on(listener: (e: SessionEvent) => void): () => void;
  send(text: string, opts?: { action?: boolean }): Promise<unknown>;
  setNick(nick: string): Promise<void>;
  /** Members present now, ourselves included (`self: true`). */
  members(): WhoMember[];
  /** Says goodbye (BYE) and leaves the group. */
  close(): Promise<void>;
  /** A private room: every frame sealed with the passphrase's key. Absent = open. */
  readonly encrypted?: boolean;
}

export interface ChatOptions {
  session: ChatSession;
  /** Default process.stdin. */
  input?: Readable & { isTTY?: boolean };
  /** Default process.stdout. A TTY gets line editing; `columns` is its width. */
  output?: Writable & { columns?: number; isTTY?: boolean };
  colors: Colors;
  /** Aborted (SIGTERM, SIGHUP…): leave cleanly, exit 0. */
  signal?: AbortSignal;
  /** Lines printed before the first prompt (e.g. where we joined, "/help"). */
  header?: string[];
  /** Clock for /who's idle times (tests). */
  now?: () => number;
}

/**
 * Where the end of `text` lands when written from column 0 of a `columns`-wide
 * terminal: the same arithmetic as readline's own (escape sequences take no room,
 * wide characters two columns and never split across rows, TABs to the next stop).
 */
export function displayPos(
  text: string,
  columns: number,
  tabSize = 8,
): { rows: number; cols: number } {
  const width = Number.isFinite(columns) && columns > 0 ? columns : Number.POSITIVE_INFINITY;
  let offset = 0;
  let rows = 0;
  for (const ch of stripVTControlCharacters(text)) {
    if (ch === "\n") {
      rows += Math.ceil(offset / width) || 1;
      offset = 0;
      continue;
    }
    if (ch === "\t") {
      offset += tabSize - (offset % tabSize);
      continue;
    }
    const w = Bun.stringWidth(ch);
    if (w <= 1) offset += w;
    else {
      if ((offset + 1) % width === 0) offset++;
      offset += 2;
    }
  }
  if (width === Number.POSITIVE_INFINITY) return { rows, cols: offset };
  const cols = offset % width;
  return { rows: rows + (offset - cols) / width, cols };
}

/** Run the room until /quit, Ctrl-C, Ctrl-D or the signal; resolves with the exit status. */
export function runChat(o: ChatOptions): Promise<number> {
  const session = o.session;
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stdout;
  const c = o.colors;
  const now = o.now ?? Date.now;
  const tty = output.isTTY === true;
  const eol = tty ? "\r\n" : "\n";

  return new Promise<number>((resolve) => {
    let done = false;
    let queue: Promise<void> = Promise.resolve();

    const rl = createInterface({
      input,
      output,
      terminal: tty,
      historySize: 1000,
      removeHistoryDuplicates: true,
      completer: makeCompleter(() =>
        session
          .members()
          .filter((m) => !m.self)
          .map((m) => displayName(m.nick, m.id, session.members())),
      ),
    });

    const promptText = () => {
      const nick = sanitizeNick(session.nick);
      return `${c.bold(nickColor(nick, c)(nick))}> `;
    };
    rl.setPrompt(promptText());

    const columns = () => output.columns ?? Number.POSITIVE_INFINITY;

    /** Wipe the prompt and the input being typed; the cursor ends at their first row, column 0. */
    const erasePrompt = () => {
      const { rows } = rl.getCursorPos();
      if (rows > 0) moveCursor(output, 0, -rows);
      cursorTo(output, 0);
      clearScreenDown(output);
    };

    /** Redraw prompt and partial input at the cursor (a fresh row), cursor where it was. */
    const redraw = () => {
      (rl as unknown as { prevRows: number }).prevRows = 0;
      rl.prompt(true);
    };

    /** Print lines above the prompt, keeping what is typed so far. */
    const print = (lines: readonly string[]) => {
      if (done || lines.length === 0) return;
      const text = lines.join(eol) + eol;
      try {
        if (!tty) {
          output.write(text);
          return;
        }
        erasePrompt();
        output.write(text);
        redraw();
      } catch {
        // The terminal is gone (EIO): leave.
        void finish(0);
      }
    };
    const info = (...lines: string[]) => print(lines.map((l) => `${c.dim("--")} ${l}`));
    const error = (msg: string) => print([c.red(`-- ${msg}`)]);

    const send = async (text: string, action = false) => {
      try {
        await session.send(text, { action });
      } catch (err) {
        error((err as Error).message);
      }
    };

    const handle = async (p: ParsedInput): Promise<void> => {
      if (done) return;
      if (p.kind === "empty") return;
      if (p.kind === "send") return send(p.text);
      switch (p.name) {
        case "help":
          return info(...helpLines());
        case "who":
          return info(
            roomLine(session.encrypted === true),
            ...whoLines(session.members(), now(), c),
          );
        case "stats":
          return info(...statsLines(session.stats));
        case "me":
          if (p.arg === "") return error("usage: /me ACTION");
          return send(p.arg, true);
        case "nick": {
          if (p.arg === "")
            return error(`usage: /nick NEW (you are ${sanitizeNick(session.nick)})`);
          const problem = nickProblem(p.arg);
          if (problem) return error(`${problem}: ${JSON.stringify(p.arg)}`);
          if (p.arg === session.nick) return info(`you are already ${p.arg}`);
          try {
            await session.setNick(p.arg);
          } catch (err) {
            return error((err as Error).message);
          }
          rl.setPrompt(promptText());
          return info(`you are now known as ${c.bold(nickColor(p.arg, c)(p.arg))}`);
        }
        case "quit":
          return finish(0);
        default: {
          const shown = sanitizeNick(`/${p.name}`);
          return error(
            `unknown command ${shown}: /help lists them, //… sends a line starting with /`,
          );
        }
      }
    };

    rl.on("line", (line) => {
      if (done) return;
      const parsed = parseInput(line);
      if (tty) {
        // readline has echoed the line and moved below it. A message comes back as
        // our own message event (with time and nick), and an empty line means
        // nothing: wipe the echo so each shows once. Commands stay visible.
        const echoed = parsed.kind !== "command" || (parsed.name === "me" && parsed.arg !== "");
        if (echoed) {
          moveCursor(output, 0, -(displayPos(promptText() + line, columns()).rows + 1));
          cursorTo(output, 0);
          clearScreenDown(output);
        }
        rl.prompt();
      }
      queue = queue.then(() => handle(parsed)).catch((err) => error(String(err)));
    });

    // Every step of leaving may fail on a hung-up terminal (rl.close() throws
    // `setRawMode failed with errno: 5`): the BYE and the resolve always run.
    const finish = async (code: number): Promise<void> => {
      if (done) return;
      try {
        if (tty) quietly(erasePrompt);
      } finally {
        done = true;
        try {
          off();
          input.removeListener("keypress", trackRows);
          input.removeListener("close", onInputGone);
          input.removeListener("error", onInputGone);
          o.signal?.removeEventListener("abort", onAbort);
          quietly(() => rl.close());
        } finally {
          await withDeadline(session.close(), CLOSE_DEADLINE_MS);
          resolve(code);
        }
      }
    };
    const onAbort = () => void finish(0);
    const onInputGone = () => void finish(0);

    // readline turns completion off for all but the last character of a chunk (a
    // paste), and then writes those characters without tracking the rows they wrap
    // onto, so its next redraw starts on the wrong row. Keep it on, except for a TAB
    // inside a paste (inserted as a TAB, as readline intends).
    const trackRows = (_s: unknown, key?: { name?: string }) => {
      if (key?.name !== "tab")
        (rl as unknown as { isCompletionEnabled: boolean }).isCompletionEnabled = true;
    };
    if (tty) input.prependListener("keypress", trackRows);

    const off = session.on((e) => print(formatPlain(e, c, { members: session.members() })));
    rl.on("SIGINT", () => void finish(0));
    rl.on("close", () => void finish(0));
    output.on("error", () => void finish(0));
    // A hung-up terminal closes stdin without an EOF, and readline then never closes.
    input.on("close", onInputGone);
    input.on("error", onInputGone);
    rl.on("error", onInputGone); // readline passes input errors on: unhandled, they throw
    if (o.signal?.aborted) return void finish(0);
    o.signal?.addEventListener("abort", onAbort);

    if (o.header?.length) print(o.header);
    if (tty) rl.prompt();
  });
}
