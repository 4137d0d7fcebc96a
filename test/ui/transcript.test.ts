import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.ts";
import { Room } from "../../src/room/room.ts";
import type { EventSink } from "../../src/session/event-sink.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { formatJson } from "../../src/ui/format.ts";
import { attachTranscript, openTranscript, type TranscriptFs } from "../../src/ui/transcript.ts";
import { waitFor } from "../helpers/events.ts";
import { FakeRoomSession } from "../helpers/fake-room-session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const dir = mkdtempSync(join(tmpdir(), "mcchat-transcript-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `log-${++n}.jsonl`);

const T = new Date("2026-11-27T10:00:00.000Z");
const EVENTS: SessionEvent[] = [
  { type: "join", time: T, from: "10.0.0.2:5000", nick: "bob", id: "00000000000000b0" },
  {
    type: "message",
    time: T,
    from: "10.0.0.2:5000",
    text: "hi\u2028there \u001b[31m",
    nick: "bob",
    id: "00000000000000b0",
    seq: 0,
  },
  { type: "warning", time: T, text: "something odd" },
];

/** openSync of a file that exists: the exclusive create fails, the plain open gives `fd`. */
const existing =
  (fd: number) =>
  (_path: string, flags: number): number => {
    if (flags & constants.O_EXCL) throw Object.assign(new Error("exists"), { code: "EEXIST" });
    return fd;
  };

/** A file system with one private regular file of uid 0 open as fd 3; tests replace parts. */
const FAKE_FS: TranscriptFs = {
  openSync: existing(3),
  fstatSync: () => ({ mode: 0o100600, uid: 0, nlink: 1, isFile: () => true }),
  statSync: () => ({ mode: 0o40700 }),
  fchmodSync: () => {},
  writeSync: (_fd, _data, _offset, length) => length,
  closeSync: () => {},
};

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (t: string) => warnings.push(t) };
}

describe("openTranscript", () => {
  test("a new file is created 0600 and gets one --json line per event, each on disk at once", () => {
    const path = fresh();
    const { warnings, warn } = collect();
    const t = openTranscript(path, { warn });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const expected: string[] = [];
    for (const e of EVENTS) {
      t.write(e);
      expected.push(formatJson(e));
      // Not closed, nothing flushed: the line is in the file already (a kill -9 loses nothing).
      expect(readFileSync(path, "utf8")).toBe(`${expected.join("\n")}\n`);
    }
    t.close();
    expect(warnings).toEqual([]);
    expect(t.ok).toBe(true);
  });

  test("an existing file is appended to, never truncated", () => {
    const path = fresh();
    writeFileSync(path, '{"earlier":true}\n', { mode: 0o600 });
    const t = openTranscript(path, collect());
    t.write(EVENTS[0] as SessionEvent);
    t.close();
    expect(readFileSync(path, "utf8")).toBe(
      `{"earlier":true}\n${formatJson(EVENTS[0] as SessionEvent)}\n`,
    );
  });

  test("an existing file others may read is made 0600, with one warning", () => {
    const path = fresh();
    writeFileSync(path, "");
    chmodSync(path, 0o644);
    const { warnings, warn } = collect();
    openTranscript(path, { warn }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([
      `the log ${path} had mode 0644: changed to 0600 (only you can read it)`,
    ]);
  });

  test("a file that cannot be opened is one UserError line (exit 1)", () => {
    const path = join(dir, "no-such-dir", "log");
    let err: unknown;
    try {
      openTranscript(path, collect());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`cannot open the log ${path}: no such file (ENOENT)`);
    expect((err as UserError).exitCode).toBe(1);
  });

  test("a loose file that cannot be made private is refused, and its descriptor closed", () => {
    const closed: number[] = [];
    const fs: TranscriptFs = {
      ...FAKE_FS,
      openSync: existing(42),
      fstatSync: () => ({ mode: 0o100664, uid: 0, nlink: 1, isFile: () => true }),
      fchmodSync: () => {
        throw Object.assign(new Error("not owner"), { code: "EPERM" });
      },
      writeSync: () => 0,
      closeSync: (fd) => void closed.push(fd),
    };
    expect(() => openTranscript("/x/log", { ...collect(), fs, uid: 0 })).toThrow(
      "the log /x/log is readable by others (mode 0664) and cannot be made private: not permitted (EPERM)",
    );
    expect(closed).toEqual([42]);
  });

  test("a failing write (ENOSPC) is one warning, then the log stops; nothing throws", () => {
    const { warnings, warn } = collect();
    let writes = 0;
    const fs: TranscriptFs = {
      ...FAKE_FS,
      writeSync: () => {
        writes++;
        throw Object.assign(new Error("no space"), { code: "ENOSPC" });
      },
    };
    const t = openTranscript("/x/log", { warn, fs, uid: 0 });
    for (const e of EVENTS) t.write(e);
    t.close();
    expect(warnings).toEqual([
      "cannot write the log /x/log: no space left on the device (ENOSPC); logging stopped",
    ]);
    expect(writes).toBe(1);
    expect(t.ok).toBe(false);
  });

  test("a short write is completed", () => {
    const chunks: string[] = [];
    const fs: TranscriptFs = {
      ...FAKE_FS,
      writeSync: (_fd, data, offset, length) => {
        const take = Math.min(length, 7);
        chunks.push(new TextDecoder().decode(data.subarray(offset, offset + take)));
        return take;
      },
    };
    const t = openTranscript("/x", { ...collect(), fs, uid: 0 });
    t.write(EVENTS[1] as SessionEvent);
    expect(chunks.join("")).toBe(`${formatJson(EVENTS[1] as SessionEvent)}\n`);
    expect(chunks.length).toBeGreaterThan(1);
  });

  test("writes after close are dropped", () => {
    const path = fresh();
    const t = openTranscript(path, collect());
    t.close();
    t.write(EVENTS[0] as SessionEvent);
    t.close();
    expect(readFileSync(path, "utf8")).toBe("");
  });
});

/** The UserError openTranscript throws for `path` (fails the test when it opens). */
function refusal(path: string, o: Partial<Parameters<typeof openTranscript>[1]> = {}): UserError {
  try {
    openTranscript(path, { ...collect(), ...o }).close();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error(`the log ${path} was opened`);
}

describe("openTranscript refuses what was planted at the path (issue 15)", () => {
  /** A victim's file (think ~/.bashrc): 0644, with content that must stay as it is. */
  const victim = () => {
    const path = join(dir, `victim-${++n}`);
    writeFileSync(path, "export PS1='$ '\n");
    chmodSync(path, 0o644);
    return path;
  };
  const unchanged = (path: string) => {
    expect(readFileSync(path, "utf8")).toBe("export PS1='$ '\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
  };

  test("a symlink to another file: one line, exit 1; the target is neither written nor chmodded", () => {
    const target = victim();
    const path = fresh();
    symlinkSync(target, path);
    const err = refusal(path);
    expect(err.message).toBe(
      `refusing the log ${path}: it is a symbolic link (give the path of a regular file of yours)`,
    );
    expect(err.exitCode).toBe(1);
    unchanged(target);
  });

  test("a dangling symlink: refused, and nothing is created where it points", () => {
    const target = join(dir, `not-yet-${++n}`);
    const path = fresh();
    symlinkSync(target, path);
    expect(refusal(path).message).toContain("it is a symbolic link");
    expect(existsSync(target)).toBe(false);
  });

  test("a FIFO nobody reads: refused at once (the open does not block)", () => {
    const path = fresh();
    execFileSync("mkfifo", ["-m", "0666", path]);
    const started = performance.now();
    expect(refusal(path).message).toBe(
      `refusing the log ${path}: it is not a regular file (a FIFO or socket) (give the path of a regular file of yours)`,
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("a FIFO someone reads: refused, and the reader gets nothing", () => {
    const path = fresh();
    execFileSync("mkfifo", ["-m", "0666", path]);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(refusal(path).message).toContain("it is not a regular file");
      const buf = Buffer.alloc(64);
      let got = 0;
      try {
        got = readSync(reader, buf, 0, 64, null);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe("EAGAIN");
      }
      expect(got).toBe(0);
    } finally {
      closeSync(reader);
    }
  });

  test("a device: refused", () => {
    expect(refusal("/dev/null").message).toContain("it is not a regular file");
  });

  test("a file of another user (our uid said to differ): refused, its mode untouched", () => {
    const path = victim();
    const mine = statSync(path).uid;
    const err = refusal(path, { uid: mine + 1 });
    expect(err.message).toBe(
      `refusing the log ${path}: it belongs to another user (uid ${mine}) (give the path of a regular file of yours)`,
    );
    unchanged(path);
  });

  test.skipIf(process.getuid?.() !== 0)(
    "as root: a file chowned to nobody (65534) is refused, its mode untouched",
    () => {
      const path = victim();
      chownSync(path, 65534, 65534);
      expect(refusal(path).message).toContain("it belongs to another user (uid 65534)");
      unchanged(path);
    },
  );

  test("a hard link to another file: refused, the file untouched", () => {
    const target = victim();
    const path = fresh();
    linkSync(target, path);
    expect(refusal(path).message).toContain("it has 2 hard links");
    unchanged(target);
  });

  test("a new file is ours, 0600, even under a permissive umask", () => {
    const path = fresh();
    const old = process.umask(0);
    try {
      openTranscript(path, collect()).close();
    } finally {
      process.umask(old);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("a directory others may write (no sticky bit): one warning; with the sticky bit: none", () => {
    const loose = join(dir, `loose-${++n}`);
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    const a = collect();
    openTranscript(join(loose, "room.jsonl"), a).close();
    expect(a.warnings).toEqual([
      `the log's directory ${loose} is writable by other users (mode 0777): they can replace the log between runs (use a directory only you can write)`,
    ]);
    chmodSync(loose, 0o1777);
    const b = collect();
    openTranscript(join(loose, "room2.jsonl"), b).close();
    expect(b.warnings).toEqual([]);
  });
});

/** A room over a fake session, with a transcript (into `logged`) attached before it opens. */
async function loggedRoom(fs?: TranscriptFs) {
  let session!: FakeRoomSession;
  const room = Room.create((events) => {
    session = new FakeRoomSession(events);
    return session;
  });
  const logged: SessionEvent[] = [];
  const warnings: string[] = [];
  let warn = (text: string): void => void warnings.push(text);
  const transcript = fs
    ? openTranscript("/x/log", { warn: (t) => warn(t), fs, uid: 0 })
    : {
        path: "-",
        ok: true,
        write: (e: SessionEvent) => void logged.push(e),
        mark() {},
        close() {},
      };
  const client = attachTranscript(room, transcript);
  warn = (text) => client.warn(text);
  await room.open();
  return { room, session, logged, warnings, client };
}

describe("the transcript, a client of the room", () => {
  test("the log and the UI both get every event, including those before the UI attached", async () => {
    const { room, session, logged } = await loggedRoom();
    const [a, b, c] = EVENTS as [SessionEvent, SessionEvent, SessionEvent];
    session.emit(a); // e.g. a member's join heard while the session starts
    session.emit(b);
    expect(logged).toEqual([a, b]); // written as it is handed on
    const shown: SessionEvent[] = [];
    room.attach({ name: "the terminal", owner: true, onEvent: (e) => void shown.push(e) });
    session.emit(c);
    await waitFor(() => shown.length === 3, 1000, "the UI's backlog and live event");
    expect(logged).toEqual([a, b, c]);
    expect(shown).toEqual([a, b, c]);
  });

  test("a second late client gets the early events too (nothing depends on who came first)", async () => {
    const { room, session } = await loggedRoom();
    session.emit(EVENTS[0] as SessionEvent);
    const first: SessionEvent[] = [];
    const second: SessionEvent[] = [];
    room.attach({ name: "one", onEvent: (e) => void first.push(e) });
    room.attach({ name: "two", onEvent: (e) => void second.push(e) });
    await waitFor(() => first.length === 1 && second.length === 1, 1000, "both got it");
    expect(second).toEqual(first);
  });

  test("the transcript's own warning goes to the other clients, never into the log; the room goes on", async () => {
    let failing = false;
    const fs: TranscriptFs = {
      ...FAKE_FS,
      writeSync: (_fd, _data, _offset, length) => {
        if (failing) throw Object.assign(new Error("no space"), { code: "ENOSPC" });
        return length;
      },
    };
    const { room, session, warnings } = await loggedRoom(fs);
    const shown: SessionEvent[] = [];
    room.attach({ name: "the terminal", owner: true, onEvent: (e) => void shown.push(e) });
    session.emit(EVENTS[0] as SessionEvent);
    failing = true;
    session.emit(EVENTS[1] as SessionEvent);
    session.emit(EVENTS[2] as SessionEvent);
    await waitFor(() => shown.length === 4, 1000, "three events and one warning");
    expect(shown.map((e) => e.type)).toEqual(["join", "message", "warning", "warning"]);
    expect(shown[2]).toMatchObject({
      type: "warning",
      text: "cannot write the log /x/log: no space left on the device (ENOSPC); logging stopped",
    });
    expect(warnings).toEqual([]); // not on stderr: the room's clients heard it
    expect(room.state).toBe("open");
  });

  test("a UI that leaves stops getting events; the log keeps logging", async () => {
    const { room, session, logged } = await loggedRoom();
    const shown: SessionEvent[] = [];
    const ui = room.attach({ name: "a browser", onEvent: (e) => void shown.push(e) });
    session.emit(EVENTS[0] as SessionEvent);
    await waitFor(() => shown.length === 1, 1000, "the first event shown");
    await ui.detach();
    session.emit(EVENTS[1] as SessionEvent);
    expect(shown).toHaveLength(1);
    expect(logged).toHaveLength(2);
    expect(room.state).toBe("open"); // not the owner: the room goes on
  });
});

test("a real session: a member heard while starting reaches both the log and the UI attaching later", async () => {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  const make = (nick: string, address: string, seed: number, events?: EventSink): RoomSession =>
    createSession({
      transport: hub.attach(address),
      encoding: "utf8",
      raw: false,
      nick,
      heartbeatMs: 200,
      scheduler: vc,
      random: mulberry32(seed),
      events,
    });
  const bob = make("bob", "198.18.0.2", 1);
  const room = Room.create((events) => make("alice", "198.18.0.1", 2, events));
  try {
    bob.on(() => {});
    await bob.start();
    const logged: SessionEvent[] = [];
    attachTranscript(room, {
      path: "-",
      ok: true,
      write: (e) => void logged.push(e),
      mark() {},
      close() {},
    });
    await room.open();
    // Nobody else has attached yet (the chat room is still being set up).
    const heard = await vc.runUntilTrue(() => logged.some((e) => e.type === "join"), 3000);
    expect(heard).toBe(true);
    const shown: SessionEvent[] = [];
    room.attach({ name: "the terminal", owner: true, onEvent: (e) => void shown.push(e) });
    await waitFor(() => shown.length >= logged.length, 1000, "the backlog");
    expect(shown.map((e) => e.type)).toContain("join");
    expect(shown).toEqual(logged);
    expect(
      room
        .members()
        .map((m) => m.nick)
        .sort(),
    ).toEqual(["alice", "bob"]);
  } finally {
    await room.close();
    await bob.close();
  }
});

test("fd hygiene: openTranscript leaves no descriptor behind after close", () => {
  const before = openSync("/dev/null", "r");
  closeSync(before);
  const t = openTranscript(fresh(), collect());
  t.close();
  const after = openSync("/dev/null", "r");
  closeSync(after);
  expect(after).toBe(before);
});

// Issue 16: a transcript had no session start or end.
test("session markers: open and close lines around the events, with full dates", () => {
  const path = join(dir, `markers-${Math.random()}.jsonl`);
  const t = openTranscript(path, { warn: () => {} });
  const opened = new Date("2026-12-04T14:03:11.000Z");
  t.mark({
    type: "session",
    event: "open",
    time: opened,
    room: "239.1.100.1:25000",
    nick: "alice",
    version: "0.4.0",
  });
  t.write({ type: "warning", time: new Date("2026-12-04T14:03:12.000Z"), text: "w" });
  t.mark({
    type: "session",
    event: "close",
    time: new Date("2026-12-04T14:10:00.000Z"),
    reason: "SIGTERM",
    status: 0,
  });
  t.close();
  expect(readFileSync(path, "utf8").split("\n")).toEqual([
    '{"type":"session","event":"open","time":"2026-12-04T14:03:11.000Z","room":"239.1.100.1:25000","nick":"alice","version":"0.4.0"}',
    '{"type":"warning","time":"2026-12-04T14:03:12.000Z","text":"w"}',
    '{"type":"session","event":"close","time":"2026-12-04T14:10:00.000Z","reason":"SIGTERM","status":0}',
    "",
  ]);
});
