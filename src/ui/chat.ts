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
import type { Room, RoomClient } from "../room/room.ts";
import { RoomError } from "../room/room-error.ts";
import type { SessionEvent } from "../session/events.ts";
import { type Colors, nickColor } from "./colors.ts";
import { helpLines, type ParsedInput, parseInput, roomLine, statsLines } from "./commands.ts";
import { makeCompleter } from "./completer.ts";
import { ctrlCHandler } from "./ctrl-c.ts";
import { quietly } from "./deadline.ts";
import { displayName, formatPlain } from "./format.ts";
import { FREEZE_TICK_MS, PresenceSummary } from "./join-summary.ts";
import { mentions } from "./mention.ts";
import { PasteGuard } from "./paste-guard.ts";
import { sanitizeNick } from "./sanitize.ts";
import { LastSpoke, whoCommand } from "./who.ts";
import { wrapLines } from "./wrap.ts";

export interface ChatOptions {
  /**
   * The room: the chat attaches as its owner (leaving closes it) and a paced client (what the
   * terminal has taken is what the room consumed); its commands are the room's verbs.
   */
  room: Room;
  /** Default process.stdin. */
  input?: Readable & { isTTY?: boolean };
  /** Default process.stdout. A TTY gets line editing; `columns` is its width. */
  output?: Writable & { columns?: number; isTTY?: boolean };
  colors: Colors;
  /** Aborted (SIGTERM, SIGHUP…): leave cleanly, exit 0. */
  signal?: AbortSignal;
  /** Lines printed before the first prompt (e.g. where we joined, "/help"). */
  header?: string[];
  /** Clock for /who's idle times and the presence summaries (tests). */
  now?: () => number;
  /** Ring the terminal bell (BEL) when a line mentions our nick (default true; --no-bell). */
  bell?: boolean;
  /**
   * The room's heartbeat interval: join and leave bursts (joining, waking from a freeze) are
   * summarised (join-summary.ts). Absent: every join and leave has its own line.
   */
  heartbeatMs?: number;
  /** A multi-line paste asks before sending (paste-guard.ts); only on a terminal. */
  pasteConfirm?: boolean;
  /** One-shot timer for the summaries and the paste guard (tests; default setTimeout). */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

/** setTimeout as a one-shot timer with its cancel. */
const realTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/** The terminal bell. */
const BEL = "\x07";

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

/** Words for a failed room command. */
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Run the room until /quit, Ctrl-C on an empty line, Ctrl-D or the signal; resolves with the
 * exit status.
 */
export function runChat(o: ChatOptions): Promise<number> {
  const room = o.room;
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
      completer: makeCompleter(() => {
        const members = room.members();
        return members.filter((m) => !m.self).map((m) => displayName(m.nick, m.id, members));
      }),
    });

    const promptText = () => {
      const nick = sanitizeNick(room.nick);
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

    // What the terminal has taken is what the room consumed (flow control): an event's position
    // is acknowledged once the write that showed it has called back. Callbacks come in order;
    // an event that showed nothing waits for the writes before it.
    let writing = 0;
    let shownMeanwhile = 0;
    const acknowledge = (position: number) => {
      if (position > 0) client.consumed(position);
    };
    const write = (text: string, position: number) => {
      writing++;
      try {
        output.write(text, () => {
          writing--;
          acknowledge(Math.max(position, writing === 0 ? shownMeanwhile : 0));
          if (writing === 0) shownMeanwhile = 0;
        });
      } catch (err) {
        writing--;
        throw err;
      }
    };
    const shown = (position: number) => {
      if (writing === 0) acknowledge(position);
      else shownMeanwhile = Math.max(shownMeanwhile, position);
    };

    /** Print lines above the prompt, keeping what is typed so far; `position`: the event's. */
    const print = (lines: readonly string[], position = 0) => {
      if (done) return;
      if (lines.length === 0) return shown(position);
      // Rows cut at the real width, continuation rows indented: a padded message cannot wrap
      // into a row that looks like another speaker's line (wrap.ts).
      const text = (tty ? wrapLines(lines, columns()) : lines).join(eol) + eol;
      try {
        if (!tty) {
          write(text, position);
          return;
        }
        erasePrompt();
        write(text, position);
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
        await room.run({ verb: "send", text, action });
      } catch (err) {
        error(errorText(err));
      }
    };

    /** The room's verbs; the chat only says their results (and their errors) in words. */
    const handle = async (p: ParsedInput): Promise<void> => {
      if (done) return;
      if (p.kind === "empty") return;
      if (p.kind === "send") return send(p.text);
      try {
        switch (p.name) {
          case "help":
            return info(...helpLines());
          case "who": {
            const who = await room.run({ verb: "who" });
            const lines = whoCommand(who.members, p.arg, {
              now: now(),
              colors: c,
              spokeAt: (id) => spoke.get(id),
              // Its lines are led by "-- ".
              columns: output.columns !== undefined ? output.columns - 3 : undefined,
              rows: (output as { rows?: number }).rows,
            });
            return info(roomLine(who.encrypted), ...lines);
          }
          case "stats": {
            const [stats, who] = [
              await room.run({ verb: "stats" }),
              await room.run({ verb: "who" }),
            ];
            const members = who.members.length > 0 ? who.members.length : undefined;
            return info(...statsLines(stats, p.arg, { members, encrypted: who.encrypted }));
          }
          case "me":
            if (p.arg === "") return error("usage: /me ACTION");
            return send(p.arg, true);
          case "nick":
            return await nick(p.arg);
          case "quit":
            return finish(0);
          default: {
            const shown = sanitizeNick(`/${p.name}`);
            return error(
              `unknown command ${shown}: /help lists them, //… sends a line starting with /`,
            );
          }
        }
      } catch (err) {
        error(errorText(err));
      }
    };

    const nick = async (wanted: string): Promise<void> => {
      if (wanted === "") return error(`usage: /nick NEW (you are ${sanitizeNick(room.nick)})`);
      let result: { old: string; nick: string };
      try {
        result = await room.run({ verb: "nick", nick: wanted });
      } catch (err) {
        if (err instanceof RoomError && err.code === "bad-argument") {
          return error(`${err.message}: ${JSON.stringify(wanted)}`);
        }
        return error(errorText(err));
      }
      if (result.old === result.nick) return info(`you are already ${wanted}`);
      rl.setPrompt(promptText());
      const taken = takenLine();
      if (taken) return info(taken);
      return info(`you are now known as ${c.bold(nickColor(result.nick, c)(result.nick))}`);
    };

    /** Our suffixed name we last told about: said once, not on every join. */
    let toldShown: string | undefined;
    /**
     * "anna is taken; others see you as anna#11d3" when an earlier holder of a look-alike nick
     * is present (displayName: the first holder keeps it plain), once per name; else undefined.
     */
    const takenLine = (): string | undefined => {
      const members = room.members();
      const me = members.find((m) => m.self);
      if (!me) return undefined;
      const plain = sanitizeNick(me.nick);
      const shown = displayName(me.nick, me.id, members);
      if (shown === plain || shown === toldShown) return undefined;
      toldShown = shown;
      return `${plain} is taken; others see you as ${c.bold(nickColor(shown, c)(shown))}`;
    };

    /** Lines for a room event: a line naming us highlighted (and the bell), "is taken" said. */
    const show = (e: SessionEvent, position = 0) => {
      const lines = formatPlain(e, c, { members: room.members() });
      if (e.type === "message" && !e.self && !e.history && mentions(e.text, room.nick)) {
        print(
          lines.map((l) => c.inverse(l)),
          position,
        );
        if (o.bell !== false) quietly(() => output.write(BEL));
        return;
      }
      print(lines, position);
      if (e.type === "join" || e.type === "nick") {
        const taken = takenLine();
        if (taken) info(taken);
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
      paste.line(line);
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
          paste.close();
          summary?.close();
          if (ticker !== undefined) clearInterval(ticker);
          input.removeListener("keypress", trackRows);
          input.removeListener("close", onInputGone);
          input.removeListener("error", onInputGone);
          o.signal?.removeEventListener("abort", onAbort);
          quietly(() => rl.close());
        } finally {
          // The owner leaving: the room closes (BYE), within its deadline.
          await client.detach();
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

    const setTimer = o.setTimer ?? realTimer;
    const spoke = new LastSpoke();
    // Lines typed together (a paste) ask first; the answer is the next line.
    const paste = new PasteGuard({
      confirm: tty && o.pasteConfirm === true,
      setTimer,
      pass: (lines) => {
        for (const line of lines) {
          const parsed = parseInput(line);
          queue = queue.then(() => handle(parsed)).catch((err) => error(String(err)));
        }
      },
      say: (line) => info(line),
    });
    // Join and leave bursts said in a line or two (joining; waking from a freeze).
    const summary =
      o.heartbeatMs !== undefined
        ? new PresenceSummary({
            heartbeatMs: o.heartbeatMs,
            now,
            setTimer,
            name: (nick, id) => sanitizeNick(displayName(nick, id, room.members())),
            say: (lines) => {
              info(...lines);
              // A names line can hold the member whose nick we took: say how we are shown.
              const taken = takenLine();
              if (taken) info(taken);
            },
            sayEvent: (e) => show(e),
            width: () => columns() - 24, // the lead: "-- in the room (18): "
          })
        : undefined;
    const ticker = summary ? setInterval(() => summary.tick(), FREEZE_TICK_MS) : undefined;

    const client: RoomClient = room.attach({
      name: "the terminal",
      owner: true,
      paced: true,
      onEvent: (e, position) => {
        spoke.note(e);
        // A held join/leave is consumed now; its line comes with the summary.
        if (summary?.hold(e)) return shown(position);
        show(e, position);
      },
      // Showing an event threw (a bug): say so and leave, as a crash would (status 70).
      onFailure: (err) => {
        error(`internal error: cannot show the room's events: ${errorText(err)}`);
        void finish(70);
      },
    });
    // Ctrl-C: a draft is cleared first; on an empty line it leaves (ctrl-c.ts).
    rl.on(
      "SIGINT",
      ctrlCHandler(rl, {
        leave: () => void finish(0),
        hint: () => info("line cleared (Ctrl-C again to leave)"),
        cancel: () => {
          if (!paste.asking) return false;
          paste.close();
          info("paste not sent");
          return true;
        },
      }),
    );
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
