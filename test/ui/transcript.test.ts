import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.ts";
import { EventBus } from "../../src/session/event-bus.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { formatJson } from "../../src/ui/format.ts";
import { openTranscript, type TranscriptFs, tapEvents } from "../../src/ui/transcript.ts";
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
      openSync: () => 42,
      fstatSync: () => ({ mode: 0o100664, isFile: () => true }),
      fchmodSync: () => {
        throw Object.assign(new Error("not owner"), { code: "EPERM" });
      },
      writeSync: () => 0,
      closeSync: (fd) => void closed.push(fd),
    };
    expect(() => openTranscript("/x/log", { ...collect(), fs })).toThrow(
      "the log /x/log is readable by others (mode 0664) and cannot be made private: not permitted (EPERM)",
    );
    expect(closed).toEqual([42]);
  });

  test("a device (not a regular file) keeps its mode", () => {
    const { warnings, warn } = collect();
    const t = openTranscript("/dev/null", { warn });
    t.write(EVENTS[0] as SessionEvent);
    t.close();
    expect(warnings).toEqual([]);
  });

  test.skipIf(!existsSync("/dev/full"))(
    "a failing write (/dev/full: ENOSPC) is one warning, then the log stops; nothing throws",
    () => {
      const { warnings, warn } = collect();
      const t = openTranscript("/dev/full", { warn });
      for (const e of EVENTS) t.write(e);
      t.close();
      expect(warnings).toEqual([
        "cannot write the log /dev/full: no space left on the device (ENOSPC); logging stopped",
      ]);
      expect(t.ok).toBe(false);
    },
  );

  test("a short write is completed", () => {
    const chunks: string[] = [];
    const fs: TranscriptFs = {
      openSync: () => 3,
      fstatSync: () => ({ mode: 0o100600, isFile: () => true }),
      fchmodSync: () => {},
      writeSync: (_fd, data, offset, length) => {
        const take = Math.min(length, 7);
        chunks.push(new TextDecoder().decode(data.subarray(offset, offset + take)));
        return take;
      },
      closeSync: () => {},
    };
    const t = openTranscript("/x", { ...collect(), fs });
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

/** A session-like object: an EventBus (early events for its first listener only) and state. */
class FakeSession {
  private readonly bus = new EventBus();
  private sent: string[] = [];
  on(listener: (e: SessionEvent) => void) {
    return this.bus.on(listener);
  }
  emit(e: SessionEvent) {
    this.bus.emit(e);
  }
  send(text: string) {
    this.sent.push(text);
  }
  get sentCount() {
    return this.sent.length;
  }
}

describe("tapEvents", () => {
  test("the tap and the UI both get every event, including those before the UI subscribed", () => {
    const session = new FakeSession();
    const tapped: SessionEvent[] = [];
    const { session: ui } = tapEvents(session, (e) => tapped.push(e));
    const [a, b, c] = EVENTS as [SessionEvent, SessionEvent, SessionEvent];
    session.emit(a); // e.g. a member's join heard while the session starts
    session.emit(b);
    const shown: SessionEvent[] = [];
    ui.on((e) => shown.push(e));
    session.emit(c);
    expect(tapped).toEqual([a, b, c]);
    expect(shown).toEqual([a, b, c]);
  });

  test("without the tap, a second listener misses the early events (why the tap comes first)", () => {
    const session = new FakeSession();
    session.emit(EVENTS[0] as SessionEvent);
    const first: SessionEvent[] = [];
    const second: SessionEvent[] = [];
    session.on((e) => first.push(e));
    session.on((e) => second.push(e));
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0);
  });

  test("methods and getters reach the real session; injected events go to the UI only", () => {
    const session = new FakeSession();
    const tapped: SessionEvent[] = [];
    const { session: ui, inject } = tapEvents(session, (e) => tapped.push(e));
    ui.send("x");
    ui.send("y");
    expect(ui.sentCount).toBe(2);
    expect(session.sentCount).toBe(2);
    const shown: SessionEvent[] = [];
    ui.on((e) => shown.push(e));
    inject(EVENTS[2] as SessionEvent);
    expect(shown).toEqual([EVENTS[2] as SessionEvent]);
    expect(tapped).toEqual([]);
  });

  test("the UI's unsubscribe stops its events; the tap keeps logging", () => {
    const session = new FakeSession();
    const tapped: SessionEvent[] = [];
    const { session: ui } = tapEvents(session, (e) => tapped.push(e));
    const shown: SessionEvent[] = [];
    const off = ui.on((e) => shown.push(e));
    session.emit(EVENTS[0] as SessionEvent);
    off();
    session.emit(EVENTS[1] as SessionEvent);
    expect(shown).toHaveLength(1);
    expect(tapped).toHaveLength(2);
  });
});

test("a real session: a member heard while starting reaches both the log and the UI subscribing later", async () => {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  const make = (nick: string, address: string, seed: number): RoomSession =>
    createSession({
      transport: hub.attach(address),
      encoding: "utf8",
      raw: false,
      nick,
      heartbeatMs: 200,
      scheduler: vc,
      random: mulberry32(seed),
    });
  const bob = make("bob", "198.18.0.2", 1);
  const alice = make("alice", "198.18.0.1", 2);
  try {
    bob.on(() => {});
    await bob.start();
    const logged: SessionEvent[] = [];
    const { session: ui } = tapEvents(alice, (e) => logged.push(e));
    await alice.start();
    // Nobody has subscribed to `ui` yet (the chat room is still being set up).
    const heard = await vc.runUntilTrue(() => logged.some((e) => e.type === "join"), 3000);
    expect(heard).toBe(true);
    const shown: SessionEvent[] = [];
    ui.on((e) => shown.push(e));
    expect(shown.map((e) => e.type)).toContain("join");
    expect(shown).toEqual(logged);
    expect(
      ui
        .members()
        .map((m) => m.nick)
        .sort(),
    ).toEqual(["alice", "bob"]);
  } finally {
    await alice.close();
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
