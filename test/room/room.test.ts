import { describe, expect, test } from "bun:test";
import { UserError } from "../../src/errors.ts";
import { VERBS } from "../../src/room/commands.ts";
import { Room } from "../../src/room/room.ts";
import { RoomError } from "../../src/room/room-error.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { CLOSE_DEADLINE_MS } from "../../src/ui/deadline.ts";
import { waitFor } from "../helpers/events.ts";
import { FAKE_ID, FakeRoomSession } from "../helpers/fake-room-session.ts";

const T = new Date(0);
const msg = (text: string): SessionEvent => ({
  type: "message",
  time: T,
  from: "10.0.0.2:1",
  text,
});
const texts = (events: SessionEvent[]) =>
  events.map((e) => (e.type === "message" ? e.text : `${e.type}: ${"text" in e ? e.text : ""}`));

function makeRoom() {
  let session!: FakeRoomSession;
  const room = Room.create((events) => {
    session = new FakeRoomSession(events);
    return session;
  });
  return { room, session };
}

/** The RoomError a promise rejects with (fails the test if it resolves). */
async function roomError(p: Promise<unknown>): Promise<RoomError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RoomError);
    return err as RoomError;
  }
  throw new Error("expected a RoomError, it resolved");
}

describe("life", () => {
  test("the hub exists before the session, which emits into it; open() starts it once", async () => {
    const { room, session } = makeRoom();
    expect(session.events).toBe(room.hub);
    expect(room.state).toBe("new");
    await Promise.all([room.open(), room.open()]);
    expect(session.started).toBe(1);
    expect(room.state).toBe("open");
  });

  test("close() is idempotent, closes the session once, resolves `closed`, detaches everyone", async () => {
    const { room, session } = makeRoom();
    const a = room.attach({ name: "a", onEvent: () => {} });
    await room.open();
    let closed = false;
    void room.closed.then(() => {
      closed = true;
    });
    await Promise.all([room.close(), room.close()]);
    await room.close();
    expect(session.closed).toBe(1);
    expect(closed).toBe(true);
    expect(room.state).toBe("closed");
    expect(a.detached).toBe(true);
    expect(a.subscription?.closed).toBe(true);
    expect(room.attached).toEqual([]);
    expect(() => room.attach({ name: "b" })).toThrow(RoomError);
    expect((await roomError(room.open())).code).toBe("closed");
  });

  test("a session.close() that never settles: close() still ends within the deadline", async () => {
    const { room, session } = makeRoom();
    session.close = () => new Promise<void>(() => {});
    const t0 = performance.now();
    await room.close();
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(CLOSE_DEADLINE_MS - 20);
    expect(took).toBeLessThan(CLOSE_DEADLINE_MS + 1000);
  });

  test("a session.close() that throws: the room closes anyway", async () => {
    const { room, session } = makeRoom();
    session.close = () => {
      throw new Error("socket gone");
    };
    await room.close();
    expect(room.state).toBe("closed");
  });
});

describe("clients", () => {
  test("a client attached before open() gets every event from the first one; a later one too", async () => {
    const { room, session } = makeRoom();
    const log: SessionEvent[] = [];
    room.attach({ name: "the transcript", onEvent: (e) => void log.push(e) });
    await room.open();
    session.emit(msg("early 1")); // e.g. a member heard while the UI is still being set up
    session.emit(msg("early 2"));
    const shown: SessionEvent[] = [];
    room.attach({
      name: "the terminal",
      owner: true,
      paced: true,
      onEvent: (e) => void shown.push(e),
    });
    session.emit(msg("live"));
    await waitFor(() => shown.length === 3, 1000, "the late client's backlog and live event");
    expect(texts(log)).toEqual(["early 1", "early 2", "live"]);
    expect(shown).toEqual(log);
  });

  test("two clients: one (not the owner) quits, the other keeps the room; the owner quitting closes it", async () => {
    const { room, session } = makeRoom();
    const ownerGot: string[] = [];
    const browserGot: string[] = [];
    const owner = room.attach({
      name: "the terminal",
      owner: true,
      onEvent: (e) => void ownerGot.push(texts([e])[0] as string),
    });
    const browser = room.attach({
      name: "a browser",
      onEvent: (e) => void browserGot.push(texts([e])[0] as string),
    });
    await room.open();
    session.emit(msg("one"));
    await waitFor(() => browserGot.length === 1, 1000, "the browser's first event");

    await browser.detach();
    expect(browser.detached).toBe(true);
    expect(room.state).toBe("open");
    expect(session.closed).toBe(0);
    session.emit(msg("two"));
    expect(ownerGot).toEqual(["one", "two"]);
    expect(browserGot).toEqual(["one"]); // it left
    expect((await room.run({ verb: "send", text: "still here" })).seq).toBe(0);
    expect(room.attached).toEqual([owner]);

    await owner.detach();
    expect(session.closed).toBe(1);
    expect(room.state).toBe("closed");
    expect(owner.detached).toBe(true);
    expect((await roomError(room.run({ verb: "who" }))).code).toBe("closed");
  });

  test("the owner leaving also detaches the other clients; `closed` tells them", async () => {
    const { room } = makeRoom();
    const owner = room.attach({ name: "stdout", owner: true });
    const other = room.attach({ name: "a browser", onEvent: () => {} });
    let told = false;
    void room.closed.then(() => {
      told = true;
    });
    await owner.detach();
    expect(told).toBe(true);
    expect(other.detached).toBe(true);
  });

  test("a paced client's acknowledgements are the room's consumed", async () => {
    const { room, session } = makeRoom();
    const positions: number[] = [];
    const c = room.attach({
      name: "stdout",
      owner: true,
      paced: true,
      onEvent: (_e, p) => void positions.push(p),
    });
    await room.open();
    session.emit(msg("a"));
    session.emit(msg("b"));
    expect(positions).toEqual([1, 2]);
    expect(room.hub.consumed).toBe(0);
    c.consumed(1);
    expect(room.hub.consumed).toBe(1);
    c.consumed(2);
    expect(room.hub.consumed).toBe(2);
  });

  test("a client's warning goes to the others, not to itself", async () => {
    const { room } = makeRoom();
    const logGot: SessionEvent[] = [];
    const chatGot: SessionEvent[] = [];
    const log = room.attach({ name: "the transcript", onEvent: (e) => void logGot.push(e) });
    log.warn("cannot write the log");
    room.attach({ name: "the terminal", owner: true, onEvent: (e) => void chatGot.push(e) });
    await waitFor(() => chatGot.length === 1, 1000, "the warning");
    expect(texts(chatGot)).toEqual(["warning: cannot write the log"]);
    expect(logGot).toEqual([]);
  });

  test("a client whose listener throws is cut off; the others are told and the room goes on", async () => {
    const { room, session } = makeRoom();
    const failures: unknown[] = [];
    const got: SessionEvent[] = [];
    const bad = room.attach({
      name: "the transcript",
      onEvent: () => {
        throw new Error("EBADF");
      },
      onFailure: (err) => failures.push(err),
    });
    room.attach({ name: "the terminal", owner: true, onEvent: (e) => void got.push(e) });
    await room.open();
    session.emit(msg("one"));
    session.emit(msg("two"));
    expect(texts(got)).toEqual([
      "one",
      "warning: the transcript failed: EBADF; it gets no more events",
      "two",
    ]);
    expect(failures).toHaveLength(1);
    expect(bad.subscription?.closed).toBe(true);
    expect(room.state).toBe("open");
  });
});

describe("commands", () => {
  test("the verbs", () => {
    expect([...VERBS].sort()).toEqual(["drain", "nick", "send", "stats", "who"]);
  });

  test("each returns data: send → SendResult, nick → {old, nick}, who, stats, drain", async () => {
    const { room, session } = makeRoom();
    session.others = [
      { id: "b".repeat(16), nick: "bob", from: "10.0.0.2:1", lastSeen: 0, self: false },
    ];
    session.encrypted = true;
    session.drainResult = async () => ({ behind: ["bob"] });
    await room.open();
    const sent = await room.run({ verb: "send", text: "hi" });
    expect(sent).toMatchObject({ id: FAKE_ID, stream: 0, seq: 0, fragments: 1 });
    const acted = await room.run({ verb: "send", text: "waves", action: true });
    expect(acted.seq).toBe(1);
    expect(session.sent).toEqual([{ text: "hi" }, { text: "waves", action: true }]);
    expect(await room.run({ verb: "nick", nick: "alicia" })).toEqual({
      old: "alice",
      nick: "alicia",
    });
    expect(await room.run({ verb: "nick", nick: "alicia" })).toEqual({
      old: "alicia",
      nick: "alicia",
    });
    expect(session.nicks).toEqual(["alicia"]); // the same nick again sends nothing
    const who = await room.run({ verb: "who" });
    expect(who.encrypted).toBe(true);
    expect(who.members.map((m) => m.nick)).toEqual(["alicia", "bob"]);
    const stats = await room.run({ verb: "stats" });
    expect(stats.sent).toBe(2);
    session.stats.sent = 99;
    expect(stats.sent).toBe(2); // a copy
    expect(await room.run({ verb: "drain", maxMs: 10 })).toEqual({ behind: ["bob"] });
  });

  test("serialised: each command starts once the one before it has finished, in order", async () => {
    const { room, session } = makeRoom();
    await room.open();
    let release!: () => void;
    session.gate = new Promise<void>((r) => {
      release = r;
    });
    const done: string[] = [];
    const first = room.run({ verb: "send", text: "first" }).then(() => done.push("first"));
    const who = room.run({ verb: "who" }).then(() => done.push("who"));
    const nick = room.run({ verb: "nick", nick: "zed" }).then(() => done.push("nick"));
    const second = room.run({ verb: "send", text: "second" }).then(() => done.push("second"));
    await Bun.sleep(20);
    expect(done).toEqual([]); // all wait behind the first send (a full window)
    expect(session.nicks).toEqual([]);
    release();
    await Promise.all([first, who, nick, second]);
    expect(done).toEqual(["first", "who", "nick", "second"]);
    expect(session.sent.map((s) => s.text)).toEqual(["first", "second"]);
  });

  test("coded errors: unknown verb, bad arguments, the session's refusal and failure (cause kept)", async () => {
    const { room, session } = makeRoom();
    await room.open();
    const unknown = await roomError(room.run({ verb: "dance" } as never));
    expect(unknown.code).toBe("unknown-verb");
    expect((await roomError(room.run(null as never))).code).toBe("bad-argument");
    expect((await roomError(room.run({ verb: "send", text: "" }))).code).toBe("bad-argument");
    expect((await roomError(room.run({ verb: "send", text: 7 } as never))).code).toBe(
      "bad-argument",
    );
    const nick = await roomError(room.run({ verb: "nick", nick: "two words" }));
    expect(nick.code).toBe("bad-argument");
    expect(nick.message).toBe("nickname must not contain spaces or control characters");
    expect((await roomError(room.run({ verb: "drain", maxMs: -1 }))).code).toBe("bad-argument");
    expect(session.nicks).toEqual([]);

    const tooLong = new UserError("message is 70000 bytes, more than 65536; nothing was sent", 1);
    session.fail = tooLong;
    const refused = await roomError(room.run({ verb: "send", text: "x" }));
    expect(refused.code).toBe("refused");
    expect(refused.message).toBe(tooLong.message);
    expect(refused.cause).toBe(tooLong);
    const socket = new Error("send EHOSTUNREACH");
    session.fail = socket;
    const failed = await roomError(room.run({ verb: "send", text: "x" }));
    expect(failed.code).toBe("failed");
    expect(failed.message).toBe("send EHOSTUNREACH");
    expect(failed.cause).toBe(socket);
    session.fail = undefined;
    expect((await room.run({ verb: "send", text: "fine" })).seq).toBe(0); // the queue goes on
  });

  test("closing fails the running and the waiting commands at once with 'closed'", async () => {
    const { room, session } = makeRoom();
    await room.open();
    session.gate = new Promise<void>(() => {}); // a send that never gets a window
    const stuck = roomError(room.run({ verb: "send", text: "stuck" }));
    const waiting = roomError(room.run({ verb: "who" }));
    await Bun.sleep(10);
    await room.close();
    expect((await stuck).code).toBe("closed");
    expect((await waiting).code).toBe("closed");
    expect((await roomError(room.run({ verb: "stats" }))).code).toBe("closed");
  });
});
