import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { UserError } from "../errors.ts";
import type { SessionEvent } from "../session/events.ts";

/** What the pipe loop needs of a session. */
export interface PipeSession {
  on(listener: (e: SessionEvent) => void): () => void;
  send(text: string): Promise<void>;
  close(): Promise<void>;
  /** After input EOF: wait until our last messages can no longer need repair. */
  drain?(): Promise<void>;
}

export interface PipeOptions {
  session: PipeSession;
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
}

/**
 * Writes that can be waited for. Bun's stdout on a pipe buffers internally without
 * reporting it (writableLength stays 0) and process.exit drops what is still queued,
 * so we count the write callbacks instead.
 */
export function trackedWriter(stream: Writable): {
  write(s: string): void;
  flushed(): Promise<void>;
} {
  let pending = 0;
  let waiters: (() => void)[] = [];
  const done = () => {
    if (--pending > 0) return;
    for (const w of waiters) w();
    waiters = [];
  };
  return {
    write(s) {
      pending++;
      try {
        stream.write(s, done);
      } catch {
        done();
      }
    },
    flushed() {
      return pending === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r));
    },
  };
}

/**
 * The Unix-tool loop: input lines become messages, received messages become output
 * lines (stdout), diagnostics go to stderr. Resolves with the exit status.
 */
export function runPipe(o: PipeOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    let received = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rl: Interface | null = null;
    const out = trackedWriter(o.output);
    const finish = async (code: number) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      off();
      o.signal?.removeEventListener("abort", onAbort);
      rl?.close();
      await o.session.close().catch(() => {});
      await out.flushed();
      resolve(code);
    };
    const onAbort = () => void finish(0);

    const off = o.session.on((e) => {
      if (done) return;
      if (e.type === "warning") {
        o.errors.write(`mcchat: warning: ${e.text}\n`);
        return;
      }
      if (e.type === "message" && e.self) return;
      for (const line of o.render(e)) out.write(`${line}\n`);
      if (e.type === "message") {
        received++;
        if (o.count !== undefined && received >= o.count) void finish(0);
      }
    });
    o.output.on?.("error", (err: NodeJS.ErrnoException) => {
      // Reader went away (e.g. `| head`): nothing more to say.
      if (err.code === "EPIPE") void finish(0);
    });
    if (o.signal?.aborted) return void finish(0);
    o.signal?.addEventListener("abort", onAbort);
    if (o.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        void finish(o.count !== undefined && received < o.count ? 1 : 0);
      }, o.timeoutMs);
    }

    const waitsForSomething = o.count !== undefined || o.timeoutMs !== undefined || o.stayAfterEof;
    if (!o.input || done) return;
    const lines = createInterface({ input: o.input, crlfDelay: Number.POSITIVE_INFINITY });
    rl = lines;
    void (async () => {
      try {
        for await (const raw of lines) {
          if (done) return;
          const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
          if (line.length === 0) continue;
          try {
            await o.session.send(line);
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            o.errors.write(`mcchat: ${err.message}\n`);
          }
        }
      } catch (err) {
        if (!done) o.errors.write(`mcchat: ${(err as Error).message}\n`);
        return void finish(1);
      }
      if (done) return;
      await o.session.drain?.();
      if (!waitsForSomething) void finish(0);
    })();
  });
}
