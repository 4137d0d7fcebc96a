import { describe, expect, test } from "bun:test";
import { PassThrough, Writable } from "node:stream";
import { UserError } from "../../src/errors.ts";
import { Room } from "../../src/room/room.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { CLOSE_DEADLINE_MS } from "../../src/ui/deadline.ts";
import { type PipeOptions, runPipe, STOP_FLUSH_MS } from "../../src/ui/pipe.ts";
import { trackedWriter } from "../../src/ui/tracked-writer.ts";
import { waitFor } from "../helpers/events.ts";
import { FakeRoomSession } from "../helpers/fake-room-session.ts";

/** A room over a fake session (`s`), and the texts it sent. */
function fakeRoom() {
  let s!: FakeRoomSession;
  const room = Room.create((events) => {
    s = new FakeRoomSession(events);
    return s;
  });
  return { room, s, sent: () => s.sent.map((m) => m.text) };
}

const msg = (text: string): SessionEvent => ({
  type: "message",
  time: new Date(0),
  from: "198.18.0.2:1",
  text,
});

/** runPipe on `room`: no input, output and errors discarded, nothing rendered, unless `o` says otherwise. */
function pipe(room: Room, o: Partial<PipeOptions> = {}): Promise<number> {
  return runPipe({
    room,
    input: null,
    output: new PassThrough(),
    errors: new PassThrough(),
    render: () => [],
    ...o,
  });
}

/** A writable that keeps every chunk written to it as a string. */
function collector(): { stream: Writable; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, chunks };
}

/**
 * A stdout that takes nothing until told to (its write callbacks are held): `release` takes what
 * was written, `fail` makes its reader go away (the held writes fail with EPIPE).
 */
function heldOutput() {
  const held: ((err?: Error) => void)[] = [];
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: 1 << 30,
    write(c, _e, cb) {
      chunks.push(String(c));
      held.push(cb);
    },
  });
  const release = () => {
    for (const cb of held.splice(0)) cb();
  };
  const fail = () => {
    const epipe = Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
    for (const cb of held.splice(0)) cb(epipe);
  };
  return { stream, chunks, release, fail, held };
}

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
  const { room, s } = fakeRoom();
  const done = pipe(room, {
    output: slow,
    render: (e) => [e.type === "message" ? e.text : ""],
    count: 50,
  });
  for (let i = 0; i < 50; i++) s.emit(msg(`m${i}`));
  expect(await done).toBe(0);
  // Lines are written in batches (one write per turn): every one of them was taken.
  expect(written.join("")).toBe(Array.from({ length: 50 }, (_, i) => `m${i}\n`).join(""));
  expect(s.closed).toBe(1);
});

test("input lines are sent in order, empty lines skipped, CR stripped; EOF ends with 0", async () => {
  const { room, sent } = fakeRoom();
  const input = new PassThrough();
  const done = pipe(room, { input });
  input.end("one\r\n\ntwo\nthree");
  expect(await done).toBe(0);
  expect(sent()).toEqual(["one", "two", "three"]);
});

test("--timeout without reaching --count exits 1; own messages are not printed", async () => {
  const { room, s } = fakeRoom();
  const out = collector();
  const done = pipe(room, { output: out.stream, render: (e) => [e.type], count: 2, timeoutMs: 50 });
  s.emit({ ...msg("mine"), self: true } as SessionEvent);
  s.emit(msg("theirs"));
  expect(await done).toBe(1);
  expect(out.chunks).toEqual(["message\n"]);
});

describe("every way out is bounded", () => {
  test("the signal ends the linger after EOF (drain) at once, with BYE", async () => {
    const { room, s } = fakeRoom();
    s.drainResult = () => new Promise<{ behind: string[] }>(() => {});
    const input = new PassThrough();
    const controller = new AbortController();
    const done = pipe(room, { input, signal: controller.signal });
    input.end("last words\n");
    await waitFor(() => s.sent.length === 1, 2000, "the line sent");
    await Bun.sleep(20); // now in drain(), which never ends by itself
    controller.abort();
    expect(await done).toBe(0);
    expect(s.drains).toBe(1);
    expect(s.closed).toBe(1);
  });

  test("the signal ends a send that waits (a full window)", async () => {
    const { room, s } = fakeRoom();
    s.gate = new Promise<void>(() => {});
    const input = new PassThrough();
    const controller = new AbortController();
    const done = pipe(room, { input, signal: controller.signal });
    input.write("stuck\n");
    await Bun.sleep(20);
    controller.abort();
    expect(await done).toBe(0);
    expect(s.closed).toBe(1);
  });

  test("a session.close() that never settles does not hold the exit", async () => {
    const { room, s } = fakeRoom();
    s.close = () => new Promise<void>(() => {});
    const controller = new AbortController();
    const done = pipe(room, { signal: controller.signal });
    const t0 = performance.now();
    controller.abort();
    expect(await done).toBe(0);
    expect(performance.now() - t0).toBeLessThan(CLOSE_DEADLINE_MS + 2000);
  });

  test("stdout's reader went away (EPIPE): exit 0, nothing on stderr", async () => {
    const { room, s } = fakeRoom();
    const output = new PassThrough();
    const errors = collector();
    const done = pipe(room, { output, errors: errors.stream, render: (e) => [e.type] });
    output.emit("error", Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" }));
    expect(await done).toBe(0);
    expect(s.closed).toBe(1);
    expect(errors.chunks).toEqual([]);
  });

  test("input closed without EOF (a hung-up terminal) counts as EOF", async () => {
    const { room, s } = fakeRoom();
    const input = new PassThrough();
    const done = pipe(room, { input });
    input.write("one\n");
    await waitFor(() => s.sent.length === 1, 2000, "the line sent");
    input.destroy(); // 'close' without 'end'
    expect(await done).toBe(0);
    expect(s.closed).toBe(1);
  });

  test("flushed() waits for a reader that stopped reading, until it is gone (EPIPE); what it lost is counted", async () => {
    const held: ((err?: Error) => void)[] = [];
    const stuck = new Writable({
      highWaterMark: 1 << 30,
      write(_c, _e, cb) {
        held.push(cb);
      },
    });
    const w = trackedWriter(stuck);
    for (let i = 0; i < 5; i++) w.write(`${i}\n`);
    let flushed = false;
    void w.flushed().then(() => {
      flushed = true;
    });
    // Nothing gives up by itself (the writer of 0.3.0 did, after 5 s without progress).
    await waitFor(() => held.length === 1, 1000, "the batch handed to the stream");
    await Bun.sleep(100);
    expect(flushed).toBe(false);
    expect(w.unwritten).toBe(5);
    const epipe = Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
    held.shift()?.(epipe);
    await waitFor(() => flushed, 1000, "flushed() after the failure");
    expect(w.failure?.code).toBe("EPIPE");
    expect({ lines: w.lines, unwritten: w.unwritten }).toEqual({ lines: 5, unwritten: 5 });
    // Lines written after the failure are lost too, and flushed() no longer waits.
    w.write("late\n");
    await w.flushed();
    expect({ lines: w.lines, unwritten: w.unwritten }).toEqual({ lines: 6, unwritten: 6 });

    // A slow reader that keeps taking lines gets them all.
    const taken: string[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(c, _e, cb) {
        setTimeout(() => {
          taken.push(String(c));
          cb();
        }, 20);
      },
    });
    const v = trackedWriter(slow);
    for (let i = 0; i < 10; i++) {
      v.write(`${i}\n`);
      await new Promise((r) => setImmediate(r)); // one batch (one write) per turn
    }
    await v.flushed();
    expect(taken).toHaveLength(10);
    expect(taken.join("")).toBe("0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    expect(v.unwritten).toBe(0);
  });
});

test("lines written in one turn go out in one write, in order", async () => {
  const chunks: string[] = [];
  const out = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  const w = trackedWriter(out);
  for (let i = 0; i < 1000; i++) w.write(`${i}\n`);
  await w.flushed();
  expect(chunks).toHaveLength(1);
  expect(chunks[0]).toBe(Array.from({ length: 1000 }, (_, i) => `${i}\n`).join(""));
});

describe("leaving after EOF", () => {
  async function pipeWithDrain(behind: string[]) {
    const { room, s, sent } = fakeRoom();
    s.drainResult = async () => ({ behind });
    const errors = collector();
    const code = await pipe(room, {
      input: new PassThrough().end("one\ntwo\n"),
      errors: errors.stream,
    });
    return { code, err: errors.chunks.join(""), s, sent };
  }

  test("exits 0 once every member has confirmed what we sent", async () => {
    const { code, err, s, sent } = await pipeWithDrain([]);
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(sent()).toEqual(["one", "two"]);
    expect(s.closed).toBe(1);
  });

  test("never reports success while a member may still miss our messages: names it, exits 1", async () => {
    const { code, err, s } = await pipeWithDrain(["bob", "carol"]);
    expect(code).toBe(1);
    expect(err).toBe("mcchat: bob, carol had not confirmed all our messages when we left\n");
    expect(s.closed).toBe(1);
  });
});

describe("input that is not UTF-8", () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
  // "你好" in GBK; 0xFF is valid in neither UTF-8 nor GBK.
  const GBK_NIHAO = [0xc4, 0xe3, 0xba, 0xc3];

  test("a UTF-8 room: the bad line is sent with U+FFFD, and a warning names it; no crash", async () => {
    const { room, sent } = fakeRoom();
    const input = new PassThrough();
    const errors = collector();
    const done = pipe(room, { input, errors: errors.stream });
    input.end(bytes("ok\n", "bad ", [0xff, 0xfe], "\r\n", "héllo\n"));
    expect(await done).toBe(0);
    expect(sent()).toEqual(["ok", "bad \uFFFD\uFFFD", "héllo"]);
    expect(errors.chunks.join("")).toBe(
      "mcchat: warning: line 2 is not valid UTF-8; sent with U+FFFD\n",
    );
  });

  test("a GBK room (-e gbk): a GBK line is read as GBK, said once; UTF-8 lines stay UTF-8", async () => {
    const { room, sent } = fakeRoom();
    const input = new PassThrough();
    const errors = collector();
    const done = pipe(room, { input, errors: errors.stream, encoding: "gbk" });
    input.end(bytes(GBK_NIHAO, "\n", "你好\n", GBK_NIHAO, "!\n", [0xff], "\n"));
    expect(await done).toBe(0);
    expect(sent()).toEqual(["你好", "你好", "你好!", "\uFFFD"]);
    expect(errors.chunks.join("").split("\n").filter(Boolean)).toEqual([
      "mcchat: warning: input line 1 is not UTF-8: reading such lines as GBK (the room encoding)",
      "mcchat: warning: line 4 is not valid UTF-8 nor GBK; sent with U+FFFD",
    ]);
  });

  test("a line split across chunks inside a multi-byte character arrives whole", async () => {
    const { room, sent } = fakeRoom();
    const input = new PassThrough();
    const errors = collector();
    const done = pipe(room, { input, errors: errors.stream });
    const line = Buffer.from("€uro\n");
    input.write(line.subarray(0, 1));
    input.write(line.subarray(1, 2));
    input.end(line.subarray(2));
    expect(await done).toBe(0);
    expect(sent()).toEqual(["€uro"]);
    expect(errors.chunks).toEqual([]);
  });
});

describe("a paced client of the room", () => {
  test("an event is consumed once stdout has taken the write that showed it", async () => {
    const { room, s } = fakeRoom();
    const out = heldOutput();
    const errors = collector();
    const controller = new AbortController();
    const done = pipe(room, {
      output: out.stream,
      errors: errors.stream,
      render: (e) => [e.type === "message" ? e.text : e.type],
      signal: controller.signal,
    });
    s.emit(msg("one"));
    s.emit({ ...msg("mine"), self: true } as SessionEvent); // shows nothing
    s.emit({ type: "warning", time: new Date(0), text: "odd" }); // on stderr
    s.emit(msg("two"));
    await waitFor(() => out.chunks.length === 1, 1000, "one batch written");
    expect(out.chunks).toEqual(["one\ntwo\n"]);
    expect(errors.chunks).toEqual(["mcchat: warning: odd\n"]);
    expect(room.hub.emitted).toBe(4);
    expect(room.hub.consumed).toBe(0);
    out.release();
    expect(room.hub.consumed).toBe(4);
    // An event that shows nothing, while a write is out, waits for that write.
    s.emit(msg("three"));
    await waitFor(() => out.chunks.length === 2, 1000, "the second batch written");
    s.emit({ ...msg("mine again"), self: true } as SessionEvent);
    await Bun.sleep(5);
    expect(room.hub.consumed).toBe(4);
    out.release();
    expect(room.hub.consumed).toBe(6);
    controller.abort();
    expect(await done).toBe(0);
  });

  test("a stdout that does not keep up misses events, then says how many, and goes on", async () => {
    let s!: FakeRoomSession;
    const room = Room.create(
      (events) => {
        s = new FakeRoomSession(events);
        return s;
      },
      { maxUnconsumed: 10 },
    );
    const out = heldOutput();
    const errors = collector();
    const controller = new AbortController();
    const done = pipe(room, {
      output: out.stream,
      errors: errors.stream,
      render: (e) => [e.type === "message" ? e.text : e.type],
      signal: controller.signal,
    });
    for (let i = 1; i <= 15; i++) s.emit(msg(`m${i}`));
    await waitFor(() => out.chunks.length === 1, 1000, "the first batch");
    expect(out.chunks[0]).toBe(Array.from({ length: 10 }, (_, i) => `m${i + 1}\n`).join(""));
    expect(room.hub.consumed).toBe(15); // it no longer holds the room back
    out.release();
    await waitFor(() => errors.chunks.length === 1, 1000, "the warning");
    expect(errors.chunks).toEqual([
      "mcchat: warning: 5 events were not shown: stdout did not keep up\n",
    ]);
    s.emit(msg("m16"));
    await waitFor(() => out.chunks.length === 2, 1000, "live again");
    expect(out.chunks[1]).toBe("m16\n");
    out.release();
    controller.abort();
    expect(await done).toBe(0);
  });

  test("rendering that throws (a bug): one internal error on stderr, exit 70, the room closed", async () => {
    const { room, s } = fakeRoom();
    const errors = collector();
    const done = pipe(room, {
      errors: errors.stream,
      render: () => {
        throw new Error("no renderer");
      },
    });
    s.emit(msg("boom"));
    expect(await done).toBe(70);
    expect(errors.chunks.join("")).toStartWith("mcchat: internal error: Error: no renderer\n");
    expect(s.closed).toBe(1);
  });
});

test("trackedWriter reports positions in order, only once the stream took them", async () => {
  const held: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 1 << 30,
    write(_c, _e, cb) {
      held.push(cb);
    },
  });
  const reported: number[] = [];
  const w = trackedWriter(stream, (p) => reported.push(p));
  w.write("a\n", 1);
  w.write("", 2);
  await new Promise((r) => setImmediate(r));
  w.write("", 3); // nothing to write: waits for the write out
  await new Promise((r) => setImmediate(r));
  expect(reported).toEqual([]);
  held.shift()?.();
  expect(reported).toEqual([3]);
  w.write("", 4); // nothing out: at once (next turn)
  await new Promise((r) => setImmediate(r));
  expect(reported).toEqual([3, 4]);
  await w.flushed();
});

describe("an end never drops output it has received; what did not get through is said", () => {
  /** A pipe over a fake room with a held stdout, rendering messages as their text. */
  function held(o: Partial<PipeOptions> = {}) {
    const { room, s } = fakeRoom();
    const out = heldOutput();
    const errors = collector();
    let code: number | undefined;
    const done = pipe(room, {
      output: out.stream,
      errors: errors.stream,
      render: (e) => [e.type === "message" ? e.text : e.type],
      ...o,
    }).then((c) => {
      code = c;
      return c;
    });
    /** Messages m1..mn from the room, until stdout holds the first write of them. */
    const handed = async (n: number) => {
      for (let i = 1; i <= n; i++) s.emit(msg(`m${i}`));
      await waitFor(() => out.held.length === 1, 1000, "the lines handed to stdout");
    };
    return { s, out, errors, done, handed, code: () => code, err: () => errors.chunks.join("") };
  }

  test("--count reached while stdout takes nothing: waits for it as long as it takes, then 0", async () => {
    const p = held({ count: 3 });
    await p.handed(3);
    await waitFor(() => p.s.closed === 1, 2000, "the room closed (BYE) at once");
    // The stop grace is the only bound there is, and it is not one here: well past it, still waiting.
    await Bun.sleep(STOP_FLUSH_MS * 2);
    expect(p.code()).toBeUndefined();
    p.out.release();
    expect(await p.done).toBe(0);
    expect(p.out.chunks.join("")).toBe("m1\nm2\nm3\n");
    expect(p.err()).toBe("");
  });

  test("stdout's reader goes away while we wait for it: status 1, and how many lines it lost", async () => {
    const p = held({ count: 3 });
    await p.handed(3);
    p.out.fail();
    expect(await p.done).toBe(1);
    expect(p.err()).toBe("mcchat: 3 of 3 output lines not written: stdout's reader went away\n");
  });

  test("with --count, a reader that leaves before taking them all: status 1 and the count", async () => {
    const p = held({ count: 5 });
    await p.handed(2);
    p.out.fail();
    expect(await p.done).toBe(1);
    expect(p.err()).toBe("mcchat: 2 of 2 output lines not written: stdout's reader went away\n");
  });

  test("without --count, a reader that leaves while we run (`| head -1`) took what it wanted: 0, silent", async () => {
    const p = held();
    await p.handed(2);
    p.out.fail();
    expect(await p.done).toBe(0);
    expect(p.err()).toBe("");
  });

  test("a stop request bounds the wait: STOP_FLUSH_MS later, status 1 and the count", async () => {
    const controller = new AbortController();
    const p = held({ signal: controller.signal });
    await p.handed(4);
    const t0 = performance.now();
    controller.abort();
    expect(await p.done).toBe(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(STOP_FLUSH_MS - 5);
    expect(p.err()).toBe(
      "mcchat: 4 of 4 output lines not written: stopped before stdout's reader took them\n",
    );
  });

  test("a stop request with nothing held: 0 at once, silent", async () => {
    const controller = new AbortController();
    const p = held({ signal: controller.signal });
    await p.handed(1);
    p.out.release();
    controller.abort();
    expect(await p.done).toBe(0);
    expect(p.err()).toBe("");
  });

  test("an input line the room refused (over 64 KiB): the others go out, then status 1 and the count", async () => {
    const { room, s, sent } = fakeRoom();
    const send = s.send.bind(s);
    s.send = async (text, opts) => {
      if (text.length > 10) throw new UserError("message too long; nothing was sent", 1);
      return send(text, opts);
    };
    const errors = collector();
    const code = await pipe(room, {
      input: new PassThrough().end("one\nmuch too long a line\n\ntwo\n"),
      errors: errors.stream,
    });
    expect(code).toBe(1);
    expect(sent()).toEqual(["one", "two"]);
    expect(errors.chunks.join("")).toBe(
      "mcchat: message too long; nothing was sent\nmcchat: 1 of 3 input lines not sent (see above)\n",
    );
  });
});
