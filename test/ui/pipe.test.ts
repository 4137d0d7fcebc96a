import { expect, test } from "bun:test";
import { PassThrough, Writable } from "node:stream";
import type { SessionEvent } from "../../src/session/events.ts";
import { runPipe } from "../../src/ui/pipe.ts";

function fakeSession() {
  const listeners = new Set<(e: SessionEvent) => void>();
  const sent: string[] = [];
  let closed = false;
  return {
    sent,
    get closed() {
      return closed;
    },
    emit(e: SessionEvent) {
      for (const l of listeners) l(e);
    },
    on(l: (e: SessionEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async send(text: string) {
      sent.push(text);
    },
    async close() {
      closed = true;
    },
  };
}

const msg = (text: string): SessionEvent => ({
  type: "message",
  time: new Date(0),
  from: "198.18.0.2:1",
  text,
});

test("does not resolve before a slow reader has taken every line", async () => {
  const written: string[] = [];
  const slow = new Writable({
    write(chunk, _enc, cb) {
      setTimeout(() => {
        written.push(String(chunk));
        cb();
      }, 2);
    },
  });
  const s = fakeSession();
  const done = runPipe({
    session: s,
    input: null,
    output: slow,
    errors: new PassThrough(),
    render: (e) => [e.type === "message" ? e.text : ""],
    count: 50,
  });
  for (let i = 0; i < 50; i++) s.emit(msg(`m${i}`));
  expect(await done).toBe(0);
  expect(written).toHaveLength(50);
  expect(s.closed).toBe(true);
});

test("input lines are sent in order, empty lines skipped, CR stripped; EOF ends with 0", async () => {
  const s = fakeSession();
  const input = new PassThrough();
  const done = runPipe({
    session: s,
    input,
    output: new PassThrough(),
    errors: new PassThrough(),
    render: () => [],
  });
  input.end("one\r\n\ntwo\nthree");
  expect(await done).toBe(0);
  expect(s.sent).toEqual(["one", "two", "three"]);
});

test("--timeout without reaching --count exits 1; own messages are not printed", async () => {
  const s = fakeSession();
  const out: string[] = [];
  const output = new Writable({
    write(c, _e, cb) {
      out.push(String(c));
      cb();
    },
  });
  const done = runPipe({
    session: s,
    input: null,
    output,
    errors: new PassThrough(),
    render: (e) => [e.type],
    count: 2,
    timeoutMs: 50,
  });
  s.emit({ ...msg("mine"), self: true } as SessionEvent);
  s.emit(msg("theirs"));
  expect(await done).toBe(1);
  expect(out).toEqual(["message\n"]);
});
