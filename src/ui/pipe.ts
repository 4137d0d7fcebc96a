import type { Readable, Writable } from "node:stream";
import type { Room, RoomClient } from "../room/room.ts";
import { RoomError } from "../room/room-error.ts";
import type { SessionEvent } from "../session/events.ts";
import { quietly } from "./deadline.ts";
import { type ByteLines, byteLines, inputDecoder } from "./input-lines.ts";
import { trackedWriter } from "./tracked-writer.ts";

export interface PipeOptions {
  /**
   * The room: the pipe attaches as its owner (leaving closes it) and a paced client (what
   * stdout has taken is what the room consumed); it sends and drains through the room's verbs.
   */
  room: Room;
  /** Lines to send, one message each; null = receive only (--listen). */
  input: Readable | null;
  output: Writable;
  errors: Writable;
  /** Renders an event for stdout (plain or JSON lines). */
  render: (e: SessionEvent) => string[];
  /** Exit 0 after this many messages have been received (and stdout has taken them). */
  count?: number;
  /** Exit after this long; exit status 1 if `count` was given and not reached. */
  timeoutMs?: number;
  /**
   * Aborted on a stop request (SIGINT/SIGTERM/SIGHUP, a lost terminal): leave cleanly, exit 0
   * (1 if output received could not be written in STOP_FLUSH_MS).
   */
  signal?: AbortSignal;
  /** Keep running after input EOF (e.g. interactive listen). Default: exit at EOF. */
  stayAfterEof?: boolean;
  /**
   * The room's encoding (text-codec name, default "utf8"). Input is UTF-8; a line that
   * is not is read in this encoding when valid there, else sent with U+FFFD and a
   * warning (input-lines.ts).
   */
  encoding?: string;
}

/**
 * After a stop request (a signal, a lost terminal), how long stdout may still take what it
 * holds. The exit guard ends the process EXIT_GRACE_MS (800 ms) after the request; the BYE
 * (CLOSE_DEADLINE_MS, 500 ms) runs meanwhile, and the lost-output line must be out before.
 */
export const STOP_FLUSH_MS = 300;

/** How an end began: it decides how long output may take and what is said about output left. */
type Ending =
  /** The pipe's own end (--count, --timeout, EOF of input, a failure): output is waited for. */
  | "normal"
  /** A stop request (signal): output gets STOP_FLUSH_MS more. */
  | "stopped"
  /** stdout's reader went away (EPIPE) while we ran. */
  | "reader-gone"
  /** The terminal went away (EIO): nothing can be said on it any more. */
  | "terminal-gone";

/** 99704 -> "99,704". */
const count = (n: number) => n.toLocaleString("en-US");

/**
 * The Unix-tool loop: input lines become messages, received messages become output
 * lines (stdout), diagnostics go to stderr. Resolves with the exit status.
 *
 * Every way out is bounded but one: the signal (SIGINT/SIGTERM/SIGHUP) ends it at once, also
 * while a send waits or the linger after EOF (`drain`) runs; a dead terminal (EIO, or input
 * closed without EOF) counts as the end of input; BYE (the room's close, as the pipe is its
 * owner) has a deadline. The one wait without a deadline is stdout's: an end never drops
 * output already received, so a slow or frozen reader is waited for as long as it is there
 * (a signal bounds that wait). Output is given up only when its reader is gone.
 *
 * The status says what did not get through:
 * - input lines the room refused (over 64 KiB): said at the end with their count, status 1;
 * - received lines stdout did not take (its reader went away while we were ending, or a
 *   signal cut the wait short): said with their count, status 1. A reader that goes away
 *   while we are still running and wait for nothing in particular (`mcchat --listen | head
 *   -1`) has taken what it wanted: status 0, nothing said, as for `yes | head -1`. With
 *   --count, what it did not take of the lines it asked for counts as lost.
 */
export function runPipe(o: PipeOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    let received = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rl: ByteLines | null = null;
    /** Input lines read (empty ones skipped), and those the room refused. */
    let inputLines = 0;
    let refused = 0;
    // What stdout has taken is what the room consumed (flow control).
    const out = trackedWriter(o.output, (position) => client.consumed(position));

    /** Resolves once stdout took everything, its reader is gone, or STOP_FLUSH_MS after a stop. */
    const outputTaken = (ending: Ending) =>
      new Promise<void>((resolve) => {
        let grace: ReturnType<typeof setTimeout> | undefined;
        const bound = () => {
          grace ??= setTimeout(resolve, STOP_FLUSH_MS);
        };
        if (ending !== "normal" || o.signal?.aborted) bound();
        else o.signal?.addEventListener("abort", bound, { once: true });
        void out.flushed().then(() => {
          if (grace) clearTimeout(grace);
          o.signal?.removeEventListener("abort", bound);
          resolve();
        });
      });

    /** The exit status, with what did not get through said on stderr. */
    const status = (code: number, ending: Ending, readerLeftFirst: boolean): number => {
      let result = code;
      const say = (line: string) => quietly(() => o.errors.write(`mcchat: ${line}\n`));
      if (refused > 0) {
        const lines = inputLines === 1 ? "line" : "lines";
        say(`${count(refused)} of ${count(inputLines)} input ${lines} not sent (see above)`);
        if (result === 0) result = 1;
      }
      const lost = out.unwritten;
      // A reader that left while we ran, wanting nothing in particular, took what it wanted.
      const chosen = readerLeftFirst && o.count === undefined;
      // A terminal that went away: nothing can be said on it.
      const terminalGone = ending === "terminal-gone" || out.failure?.code === "EIO";
      if (lost > 0 && !terminalGone && !chosen) {
        const why =
          out.failure !== undefined
            ? "stdout's reader went away"
            : "stopped before stdout's reader took them";
        say(`${count(lost)} of ${count(out.lines)} output lines not written: ${why}`);
        if (result === 0) result = 1;
      }
      return result;
    };

    const finish = async (code: number, ending: Ending = "normal") => {
      if (done) return;
      done = true;
      // The reader was gone before this end began (it may have started it): see status().
      const readerLeftFirst = ending === "reader-gone" || out.failure?.code === "EPIPE";
      try {
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        o.output.removeListener?.("error", onOutputError);
        o.input?.removeListener("close", onInputGone);
        o.input?.removeListener("error", onInputError);
        quietly(() => rl?.end());
      } finally {
        // The owner leaving: the room closes (BYE), within its deadline; meanwhile stdout takes
        // what it holds.
        await Promise.all([client.detach(), outputTaken(ending)]);
        resolve(status(code, ending, readerLeftFirst));
      }
    };
    // After the handlers of the same stdout 'error' event (the exit guard's abort comes first):
    // an EPIPE ends as "reader-gone", not as a stop.
    const onAbort = () => queueMicrotask(() => void finish(0, "stopped"));
    const onOutputError = (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") return void finish(0, "reader-gone");
      // The terminal went away (EIO): nothing more to say.
      if (err.code === "EIO") return void finish(0, "terminal-gone");
      quietly(() => o.errors.write(`mcchat: cannot write output: ${err.message}\n`));
      void finish(1);
    };
    // A hung-up terminal closes stdin without an EOF ('end'), so the lines never end by
    // themselves: end them here, which the loop below treats as EOF.
    const onInputGone = () => quietly(() => rl?.end());
    const onInputError = (err: NodeJS.ErrnoException) => {
      if (err.code !== "EIO" && !done) {
        quietly(() => o.errors.write(`mcchat: cannot read input: ${err.message}\n`));
        return void finish(1);
      }
      onInputGone();
    };

    const show = (e: SessionEvent, position: number) => {
      if (done) return;
      if (e.type === "warning") {
        o.errors.write(`mcchat: warning: ${e.text}\n`);
        return out.write("", position);
      }
      if (e.type === "info") {
        o.errors.write(`mcchat: ${e.text}\n`);
        return out.write("", position);
      }
      if (e.type === "message" && e.self) return out.write("", position);
      const lines = o.render(e);
      if (lines.length === 0) out.write("", position);
      for (const line of lines) out.write(`${line}\n`, position);
      if (e.type === "message") {
        received++;
        if (o.count !== undefined && received >= o.count) void finish(0);
      }
    };
    const client: RoomClient = o.room.attach({
      name: "stdout",
      owner: true,
      paced: true,
      onEvent: show,
      // Rendering an event threw (a bug): say so and leave, as a crash would (status 70).
      onFailure: (err) => {
        const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
        quietly(() => o.errors.write(`mcchat: internal error: ${why}\n`));
        void finish(70);
      },
    });
    o.output.on?.("error", onOutputError);
    if (o.signal?.aborted) return void finish(0, "stopped");
    o.signal?.addEventListener("abort", onAbort);
    if (o.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        void finish(o.count !== undefined && received < o.count ? 1 : 0);
      }, o.timeoutMs);
    }

    const waitsForSomething = o.count !== undefined || o.timeoutMs !== undefined || o.stayAfterEof;
    if (!o.input || done) return;
    // Piped stdin is read through Bun's web stream: process.stdin, paused and resumed, may
    // never emit 'end' (input-lines.ts).
    const stdinPipe = o.input === process.stdin && process.stdin.isTTY !== true;
    const lines = byteLines(stdinPipe ? Bun.stdin.stream() : o.input);
    const decode = inputDecoder(o.encoding ?? "utf8");
    let lineNo = 0;
    rl = lines;
    o.input.on("close", onInputGone);
    o.input.on("error", onInputError);
    void (async () => {
      try {
        for await (const bytes of lines) {
          if (done) return;
          lineNo++;
          if (bytes.length === 0) continue;
          const { text: line, warnings } = decode(bytes, lineNo);
          for (const w of warnings) o.errors.write(`mcchat: warning: ${w}\n`);
          if (line === "") continue; // a line of only a byte-order mark
          inputLines++;
          try {
            await o.room.run({ verb: "send", text: line });
          } catch (err) {
            if (done) return;
            // The session refused this one (too long…): said, and the next line goes on; the
            // exit status says that not all of the input went out (status()).
            if (!(err instanceof RoomError && err.code === "refused")) throw err;
            refused++;
            o.errors.write(`mcchat: ${err.message}\n`);
          }
        }
        if (done) return;
        // The linger: ended early by finish() (signal, EPIPE, --count), which closes the room.
        const { behind } = await o.room.run({ verb: "drain" });
        if (behind.length > 0 && !done) {
          // Never report success while a present member may still miss what we sent.
          o.errors.write(
            `mcchat: ${behind.join(", ")} had not confirmed all our messages when we left\n`,
          );
          if (!waitsForSomething) return void finish(1);
        }
      } catch (err) {
        if (!done) o.errors.write(`mcchat: ${(err as Error).message}\n`);
        return void finish(1);
      }
      if (!waitsForSomething) void finish(0);
    })();
  });
}
