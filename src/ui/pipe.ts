import type { Readable, Writable } from "node:stream";
import type { Room, RoomClient } from "../room/room.ts";
import { RoomError } from "../room/room-error.ts";
import type { SessionEvent } from "../session/events.ts";
import { quietly } from "./deadline.ts";
import { type ByteLines, byteLines, inputDecoder } from "./input-lines.ts";

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
  /** Exit 0 after this many messages have been received. */
  count?: number;
  /** Exit after this long; exit status 1 if `count` was given and not reached. */
  timeoutMs?: number;
  /** Aborted on SIGINT/SIGTERM: leave cleanly, exit 0. */
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

/** How long a stdout flush may go without progress before exit gives up on it. */
export const FLUSH_STALL_MS = 5000;

/**
 * Writes that can be waited for. Bun's stdout on a pipe buffers internally without
 * reporting it (writableLength stays 0) and process.exit drops what is still queued,
 * so we count the write callbacks instead.
 */
/** Lines joined into one write at most (a long burst is written in pieces of this size). */
const WRITE_BATCH_LINES = 4096;
/** Writes handed to the stream at once, at most: the rest wait as joined text. */
const MAX_INFLIGHT_WRITES = 2;
/** While output waits, a full garbage collection after every this many bytes queued. */
const GC_EVERY_BYTES = 2 * 1024 * 1024;

interface Chunk {
  text: string;
  position: number;
}
const EMPTY: Chunk = { text: "", position: 0 };

export function trackedWriter(
  stream: Writable,
  /**
   * Called with a write's highest position (see write) once the stream has taken it; in
   * order, never lower than before.
   */
  onWritten?: (position: number) => void,
): {
  /**
   * Queue `s` (may be "": only the position). `position` (an event's, > 0) is reported to
   * onWritten once `s` and everything written before it are out.
   */
  write(s: string, position?: number): void;
  /**
   * Resolves when every write so far has called back, or once no write has called
   * back for `stallMs` (a reader that stopped reading, a dead terminal): an exit path
   * never waits forever. A slow reader that keeps reading is waited for.
   */
  flushed(stallMs?: number): Promise<void>;
} {
  let pending = 0;
  let progress = 0;
  let waiters: (() => void)[] = [];
  /** Lines written since the last flush: joined into one write per turn of the event loop. */
  let batch: string[] = [];
  /** The highest position among them. */
  let batchPosition = 0;
  let scheduled = false;
  /** The newest write not called back yet: a batch with nothing to write hands it its position. */
  let newest: Chunk | undefined;
  /** Writes handed to the stream and not called back yet, and joined batches waiting for them. */
  let inflight = 0;
  let waitingBytes = 0;
  const waiting: Chunk[] = [];
  let waitingHead = 0;
  const done = () => {
    progress++;
    if (--pending > 0) return;
    for (const w of waiters) w();
    waiters = [];
  };
  const written = (w: Chunk) => {
    inflight--;
    if (newest === w) newest = undefined;
    if (w.position > 0) onWritten?.(w.position);
    done();
    if (waitingHead < waiting.length && inflight < MAX_INFLIGHT_WRITES) {
      const next = waiting[waitingHead] as Chunk;
      waiting[waitingHead++] = EMPTY;
      if (waitingHead === waiting.length) {
        waiting.length = 0;
        waitingHead = 0;
      }
      start(next);
    }
  };
  const start = (w: Chunk) => {
    inflight++;
    try {
      stream.write(w.text, () => written(w));
    } catch {
      written(w);
    }
  };
  const writeBatch = () => {
    const text = batch.join("");
    const position = batchPosition;
    batch = [];
    batchPosition = 0;
    if (text === "") {
      // Only positions: due once the writes before them are out.
      if (newest) newest.position = Math.max(newest.position, position);
      else if (position > 0) onWritten?.(position);
      done();
      return;
    }
    const w: Chunk = { text, position };
    newest = w;
    // A reader that does not read: the stream would buffer every write in memory; ours waits
    // here instead, as joined text, a few writes at a time handed on (bounded by the room's
    // output rule: a paced client that far behind stops getting events).
    if (inflight < MAX_INFLIGHT_WRITES) start(w);
    else {
      waiting.push(w);
      // What waits here is held on purpose; what the event loop left behind to get it here is
      // garbage: collect it now and then, or a burst into a stopped reader peaks far above what
      // it keeps (measured: 134 MB peak, 95 MB kept, for 100,000 lines).
      waitingBytes += text.length;
      if (waitingBytes >= GC_EVERY_BYTES) {
        waitingBytes = 0;
        Bun.gc(true);
      }
    }
  };
  return {
    write(s, position = 0) {
      // One write (one system call) per turn of the event loop instead of one per line: a
      // receiver prints tens of thousands of lines a second. The scheduled batch counts as
      // pending from the first line on, so flushed() waits for it.
      batch.push(s);
      if (position > batchPosition) batchPosition = position;
      if (!scheduled) {
        scheduled = true;
        pending++;
        setImmediate(() => {
          scheduled = false;
          if (batch.length > 0) writeBatch();
          else done();
        });
      } else if (batch.length >= WRITE_BATCH_LINES) {
        pending++;
        writeBatch();
      }
    },
    flushed(stallMs = FLUSH_STALL_MS) {
      if (pending === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let seen = progress;
        const check = setInterval(
          () => {
            if (progress !== seen) {
              seen = progress;
              return;
            }
            clearInterval(check);
            resolve();
          },
          Math.max(1, stallMs),
        );
        waiters.push(() => {
          clearInterval(check);
          resolve();
        });
      });
    },
  };
}

/**
 * The Unix-tool loop: input lines become messages, received messages become output
 * lines (stdout), diagnostics go to stderr. Resolves with the exit status.
 *
 * Every way out is bounded: the signal (SIGINT/SIGTERM/SIGHUP) ends it at once, also
 * while a send waits or the linger after EOF (`drain`) runs; a reader that went away
 * (EPIPE) ends it with 0; a dead terminal (EIO, or input closed without EOF) counts as
 * the end of input. BYE (the room's close, as the pipe is its owner) and the stdout flush
 * have deadlines.
 */
export function runPipe(o: PipeOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    let received = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rl: ByteLines | null = null;
    // What stdout has taken is what the room consumed (flow control).
    const out = trackedWriter(o.output, (position) => client.consumed(position));
    const finish = async (code: number) => {
      if (done) return;
      done = true;
      try {
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        o.output.removeListener?.("error", onOutputError);
        o.input?.removeListener("close", onInputGone);
        o.input?.removeListener("error", onInputError);
        quietly(() => rl?.end());
      } finally {
        // The owner leaving: the room closes (BYE), within its deadline.
        await client.detach();
        await out.flushed();
        resolve(code);
      }
    };
    const onAbort = () => void finish(0);
    const onOutputError = (err: NodeJS.ErrnoException) => {
      // The reader went away (`| head`) or the terminal did (EIO): nothing more to say.
      if (err.code === "EPIPE" || err.code === "EIO") return void finish(0);
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
    if (o.signal?.aborted) return void finish(0);
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
          try {
            await o.room.run({ verb: "send", text: line });
          } catch (err) {
            if (done) return;
            // The session refused this one (too long…): said, and the next line goes on.
            if (!(err instanceof RoomError && err.code === "refused")) throw err;
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
