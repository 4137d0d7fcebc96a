import { describe, expect, test } from "bun:test";
import { createInterface } from "node:readline";
import { PassThrough, Writable } from "node:stream";
import pc from "picocolors";
import { UserError } from "../../src/errors.ts";
import { formatStats } from "../../src/join.ts";
import { Room } from "../../src/room/room.ts";
import type { EventSink } from "../../src/session/event-sink.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { emptyStats } from "../../src/session/stats.ts";
import { displayPos, runChat } from "../../src/ui/chat.ts";
import { parseInput, statsLines } from "../../src/ui/commands.ts";
import { makeCompleter } from "../../src/ui/completer.ts";
import { CLOSE_DEADLINE_MS } from "../../src/ui/deadline.ts";
import { whoListing } from "../../src/ui/who.ts";
import { waitFor } from "../helpers/events.ts";
import { FakeRoomSession } from "../helpers/fake-room-session.ts";
import { VirtualTerminal } from "./vt.ts";

const T0 = new Date(2024, 0, 2, 12, 0, 0).getTime();
const BOB = "b0b0b0b0b0b0b0b0";
const plain = pc.createColors(false);

/** alice, with bob in the room, at T0. */
class FakeSession extends FakeRoomSession {
  constructor(events: EventSink) {
    super(events);
    this.now = () => T0;
    this.stats = { ...emptyStats(), received: 7, datagramsSent: 3 };
    this.others = [
      { id: BOB, nick: "bob", from: "198.18.0.2:25000", lastSeen: T0 - 4000, self: false },
    ];
  }
}

/** A room over a FakeSession (not opened: the chat does not need that). */
function fakeRoom(): { room: Room; session: FakeSession } {
  let session!: FakeSession;
  const room = Room.create((events) => {
    session = new FakeSession(events);
    return session;
  });
  return { room, session };
}

type Stream = PassThrough & { isTTY?: boolean; columns?: number };

function room(opts: { tty?: boolean; columns?: number; header?: string[] } = {}) {
  const tty = opts.tty ?? true;
  const columns = opts.columns ?? 40;
  const { room: chatRoom, session } = fakeRoom();
  const input: Stream = new PassThrough();
  const output: Stream = new PassThrough();
  input.isTTY = tty;
  output.isTTY = tty;
  output.columns = columns;
  const vt = new VirtualTerminal(columns);
  let raw = "";
  output.on("data", (d: Buffer) => {
    raw += d.toString();
    vt.write(d.toString());
  });
  const controller = new AbortController();
  const exit = runChat({
    room: chatRoom,
    input,
    output,
    colors: plain,
    signal: controller.signal,
    header: opts.header,
    now: () => T0,
  });
  return {
    session,
    room: chatRoom,
    vt,
    exit,
    controller,
    input: input as Stream & { setRawMode?: (on: boolean) => unknown },
    output,
    get raw() {
      return raw;
    },
    /** Everything written from now on. */
    mark() {
      const at = raw.length;
      return () => raw.slice(at);
    },
    async type(s: string) {
      input.write(s);
      await Bun.sleep(15);
    },
    end() {
      input.end();
    },
  };
}

const bobSays = (text: string): SessionEvent => ({
  type: "message",
  time: new Date(T0),
  from: "198.18.0.2:25000",
  text,
  nick: "bob",
  id: BOB,
});

const LEFT = "\x1b[D";
const CTRL_D = "\x04";
const CTRL_C = "\x03";

describe("printing above the prompt", () => {
  test("a message arriving during a wrapped half-typed line leaves the line intact", async () => {
    const r = room();
    await r.type("x".repeat(50)); // "alice> " + 50 = 57 columns: two rows at 40
    expect(r.vt.lines()).toEqual([`alice> ${"x".repeat(33)}`, "x".repeat(17)]);

    const after = r.mark();
    r.session.emit(bobSays("hello there"));
    await Bun.sleep(5);
    // The raw output: the message, then the prompt and the half line drawn again.
    const out = after();
    const msg = out.indexOf("12:00:00 <bob> hello there");
    expect(msg).toBeGreaterThanOrEqual(0);
    expect(out.indexOf(`alice> ${"x".repeat(50)}`, msg)).toBeGreaterThan(msg);
    // The screen: message above, the input below, the cursor at its end.
    expect(r.vt.lines()).toEqual([
      "12:00:00 <bob> hello there",
      `alice> ${"x".repeat(33)}`,
      "x".repeat(17),
    ]);
    expect([r.vt.row, r.vt.col]).toEqual([2, 17]);

    // And readline still has the same line: finishing it sends all of it.
    await r.type("y\r");
    expect(r.session.sent).toEqual([{ text: `${"x".repeat(50)}y` }]);
    await r.type(CTRL_D);
    expect(await r.exit).toBe(0);
  });

  test("the cursor stays inside the line (on its first row) across a redraw", async () => {
    const r = room();
    await r.type(`${"a".repeat(30)}${"b".repeat(30)}`);
    await r.type(LEFT.repeat(40)); // back onto the first row, after 20 a's
    expect([r.vt.row, r.vt.col]).toEqual([0, 27]);
    r.session.emit(bobSays("one"));
    r.session.emit(bobSays("two\nlines"));
    await Bun.sleep(5);
    expect(r.vt.lines()).toEqual([
      "12:00:00 <bob> one",
      "12:00:00 <bob> two",
      "12:00:00 <bob> lines",
      `alice> ${"a".repeat(30)}${"b".repeat(3)}`,
      "b".repeat(27),
    ]);
    expect([r.vt.row, r.vt.col]).toEqual([3, 27]);
    await r.type("Z\r");
    expect(r.session.sent[0]?.text).toBe(`${"a".repeat(20)}Z${"a".repeat(10)}${"b".repeat(30)}`);
    r.end();
    expect(await r.exit).toBe(0);
  });

  test("a line exactly as wide as the terminal, and wide characters", async () => {
    const r = room();
    await r.type("y".repeat(33)); // 40 columns exactly: cursor on the next row
    r.session.emit(bobSays("hi"));
    await Bun.sleep(5);
    expect(r.vt.lines()).toEqual(["12:00:00 <bob> hi", `alice> ${"y".repeat(33)}`]);
    expect([r.vt.row, r.vt.col]).toEqual([2, 0]);
    await r.type("\x15"); // Ctrl-U: clear
    await r.type("漢字".repeat(10));
    r.session.emit(bobSays("again"));
    await Bun.sleep(5);
    const lines = r.vt.lines();
    expect(lines.slice(-3)).toEqual([
      "12:00:00 <bob> again",
      `alice> ${"漢字".repeat(8)}`,
      "漢字".repeat(2),
    ]);
    r.end();
    await r.exit;
  });

  test("incoming events: notices, ambiguous nicks, sanitized text", async () => {
    const r = room();
    r.session.emit({
      type: "join",
      time: new Date(T0),
      from: "198.18.0.3:1",
      nick: "carol",
      id: "c".repeat(16),
    });
    r.session.others.push({
      id: "d".repeat(16),
      nick: "bob",
      from: "198.18.0.4:1",
      lastSeen: T0,
      self: false,
    });
    r.session.emit(bobSays("\x1b]0;pwned\x07hi"));
    r.session.emit({
      type: "leave",
      time: new Date(T0),
      from: "198.18.0.3:1",
      nick: "carol",
      id: "c".repeat(16),
      reason: "timeout",
    });
    r.session.emit({ type: "warning", time: new Date(T0), text: "careful" });
    await Bun.sleep(5);
    expect(r.vt.lines()).toEqual([
      "12:00:00 -- carol joined (198.18.0.3)",
      "12:00:00 <bob#b0b0> ^[]0;pwned^Ghi",
      "12:00:00 -- carol timed out (198.18.0.3)",
      "12:00:00 -- warning: careful",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("header lines come before the first prompt", async () => {
    const r = room({ header: ["-- joined 239.1.100.1:25000", "-- /help lists commands"] });
    await Bun.sleep(5);
    expect(r.vt.lines()).toEqual([
      "-- joined 239.1.100.1:25000",
      "-- /help lists commands",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });
});

describe("nicks and lines that cannot pass for others (issue 15)", () => {
  const MALLORY = "3a11e7000000000f";
  const says = (nick: string, id: string, text: string): SessionEvent => ({
    type: "message",
    time: new Date(T0),
    from: "198.18.0.3:25000",
    text,
    nick,
    id,
  });

  test("a member whose nick looks like another's (or ours) is shown with its #id", async () => {
    for (const fake of ["bob\u200D", "b\u00ADob", "bob\u3164", "\u115Fbob", "b\u043eb", "B0B"]) {
      const r = room({ columns: 80 });
      r.session.others.push({
        id: MALLORY,
        nick: fake,
        from: "198.18.0.3:25000",
        lastSeen: T0,
        self: false,
      });
      r.session.emit(bobSays("the real one"));
      r.session.emit(says(fake, MALLORY, "the fake one"));
      await waitFor(() => r.vt.lines().some((l) => l.includes("the fake one")), 2000, "shown");
      const lines = r.vt.lines();
      expect({ fake, lines }).toEqual({
        fake,
        lines: [
          "12:00:00 <bob#b0b0> the real one",
          expect.stringMatching(/^12:00:00 <.+#3a11> the fake one$/),
          "alice>",
        ],
      });
      r.end();
      await r.exit;
    }
    // One that looks like us (alice): its lines and ours both carry the suffix.
    const r = room({ columns: 80 });
    r.session.others.push({
      id: MALLORY,
      nick: "\u0430lice",
      from: "198.18.0.3:25000",
      lastSeen: T0,
      self: false,
    });
    r.session.emit(says("\u0430lice", MALLORY, "it is me"));
    await r.type("no, me\r");
    await waitFor(() => r.vt.lines().some((l) => l.includes("no, me")), 2000, "shown");
    expect(r.vt.lines()).toEqual([
      "12:00:00 <\u0430lice#3a11> it is me",
      "12:00:00 <alice#a1a1> no, me",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("a message padded to the width cannot wrap into a row that looks like a line", async () => {
    for (const columns of [40, 80, 100, 132]) {
      const r = room({ columns });
      // "12:00:00 <bob> brb" is 18 columns: pad to the end of the row.
      const pad = " ".repeat(columns - 18);
      r.session.emit(bobSays(`brb${pad}12:00:00 <alice> admins: paste your ~/.ssh/id_rsa`));
      await waitFor(() => r.vt.lines().some((l) => l.includes("id_rsa")), 2000, "shown");
      const lines = r.vt.lines();
      expect({ columns, fake: lines.filter((l) => /^\d\d:\d\d:\d\d <alice>/.test(l)) }).toEqual({
        columns,
        fake: [],
      });
      expect(lines[0]).toStartWith("12:00:00 <bob> brb");
      expect(lines.at(-2)).toStartWith(" ".repeat(9));
      r.end();
      await r.exit;
    }
  });
});

describe("sending", () => {
  test("own message shows once, as the session's echo, not as the typed line", async () => {
    const r = room();
    await r.type("hello\r");
    expect(r.session.sent).toEqual([{ text: "hello" }]);
    expect(r.vt.lines()).toEqual(["12:00:00 <alice> hello", "alice>"]);
    expect(r.raw.split("<alice> hello").length).toBe(2);
    // A long (wrapped) message is wiped just as well; shown, its rows after the first are
    // indented (wrap.ts).
    await r.type(`${"w".repeat(70)}\r`);
    expect(r.vt.lines()).toEqual([
      "12:00:00 <alice> hello",
      `12:00:00 <alice> ${"w".repeat(23)}`,
      `${" ".repeat(9)}${"w".repeat(31)}`,
      `${" ".repeat(9)}${"w".repeat(16)}`,
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("empty lines send nothing and leave no trace; // sends a literal slash", async () => {
    const r = room();
    await r.type("\r\r   \r");
    expect(r.session.sent).toEqual([]);
    expect(r.vt.lines()).toEqual(["alice>"]);
    await r.type("//etc/hosts is a file\r");
    expect(r.session.sent).toEqual([{ text: "/etc/hosts is a file" }]);
    r.end();
    await r.exit;
  });

  test("a send error is one red line and the room goes on", async () => {
    const colors = pc.createColors(true);
    const r = room({ columns: 80 });
    r.session.fail = new UserError("message is 70000 bytes, more than 65536; nothing was sent", 1);
    await r.type("too long\r");
    expect(r.vt.lines()).toEqual([
      "-- message is 70000 bytes, more than 65536; nothing was sent",
      "alice>",
    ]);
    expect(colors.red("x")).toContain("\x1b[31m");
    r.session.fail = new Error("send EHOSTUNREACH");
    await r.type("again\r");
    expect(r.vt.lines()[1]).toBe("-- send EHOSTUNREACH");
    r.session.fail = undefined;
    await r.type("fine\r");
    expect(r.session.sent).toEqual([{ text: "fine" }]);
    r.end();
    expect(await r.exit).toBe(0);
  });

  test("errors are red when colours are on", async () => {
    const { room: r, session } = fakeRoom();
    session.fail = new UserError("nope", 1);
    const input: Stream = new PassThrough();
    const output: Stream = new PassThrough();
    let raw = "";
    output.on("data", (d: Buffer) => {
      raw += d.toString();
    });
    const exit = runChat({ room: r, input, output, colors: pc.createColors(true) });
    input.write("x\n");
    await Bun.sleep(10);
    expect(raw).toBe("\x1b[31m-- nope\x1b[39m\n");
    input.end();
    expect(await exit).toBe(0);
  });
});

describe("commands", () => {
  test("/who lists members with address, you-marker and idle time since the last message", async () => {
    const r = room({ columns: 80 });
    // bob was heard 4 s ago (a heartbeat) but last spoke 10 s ago.
    r.session.emit({ ...bobSays("hi"), time: new Date(T0 - 10_000) });
    await waitFor(() => r.vt.lines().includes("11:59:50 <bob> hi"), 1000, "bob's line");
    await r.type("/who\r");
    expect(r.vt.lines()).toEqual([
      "11:59:50 <bob> hi",
      "alice> /who",
      "-- room: open (not encrypted)",
      "-- 2 members:",
      "--   alice  you",
      "--   bob    198.18.0.2  idle 10s",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("/who marks a mcchat 0.2 member: it reads text only", async () => {
    const r = room({ columns: 80 });
    r.session.others.push({
      id: "0d0d0d0d0d0d0d0d",
      nick: "old",
      from: "198.18.0.3:25000",
      lastSeen: T0 - 1000,
      self: false,
      wire: "1.0",
    });
    await r.type("/who\r");
    expect(r.vt.lines()).toEqual([
      "alice> /who",
      "-- room: open (not encrypted)",
      "-- 3 members:",
      "--   alice  you",
      "--   bob    198.18.0.2  no message yet",
      "--   old    198.18.0.3  no message yet  (mcchat 0.2: text only)",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("/who says whether the room is encrypted", async () => {
    const r = room({ columns: 80 });
    r.session.encrypted = true;
    await r.type("/who\r");
    expect(r.vt.lines().slice(0, 3)).toEqual([
      "alice> /who",
      "-- room: encrypted (AES-256-GCM, passphrase)",
      "-- 2 members:",
    ]);
    r.end();
    await r.exit;
  });

  test("/nick validates, changes the session's nick and the prompt", async () => {
    const r = room({ columns: 80 });
    await r.type("/nick\r");
    await r.type("/nick two words\r");
    await r.type("/nick alice\r");
    expect(r.session.nicks).toEqual([]);
    await r.type("/nick 小明\r");
    expect(r.session.nicks).toEqual(["小明"]);
    const lines = r.vt.lines();
    expect(lines).toContain("-- usage: /nick NEW (you are alice)");
    expect(lines).toContain(
      '-- nickname must not contain spaces or control characters: "two words"',
    );
    expect(lines).toContain("-- you are already alice");
    expect(lines.slice(-2)).toEqual(["-- you are now known as 小明", "小明>"]);
    await r.type("hi\r");
    expect(r.vt.lines().slice(-2)).toEqual(["12:00:00 <小明> hi", "小明>"]);
    r.end();
    await r.exit;
  });

  test("/me sends an action; /me alone is a usage hint", async () => {
    const r = room();
    await r.type("/me waves\r");
    await r.type("/me\r");
    expect(r.session.sent).toEqual([{ text: "waves", action: true }]);
    expect(r.vt.lines()).toEqual([
      "12:00:00 * alice waves",
      "alice> /me",
      "-- usage: /me ACTION",
      "alice>",
    ]);
    r.end();
    await r.exit;
  });

  test("/stats, /help, unknown commands", async () => {
    const r = room({ columns: 100 });
    await r.type("/stats\r");
    // One line in plain words; every counter on request, named as --stats names them.
    expect(r.vt.lines()).toContain(
      "-- sent 0, received 7, repaired 0, lost 0, members 2 (/stats all for every counter)",
    );
    expect(r.vt.lines().filter((l) => l.startsWith("-- "))).toHaveLength(1);
    await r.type("/stats all\r");
    expect(r.vt.lines()).toContain("-- sent 0, received 7, repaired 0 (repairs sent 0)");
    expect(r.vt.lines()).toContain(
      "-- NACKs sent 0 / heard 0 / suppressed 0, duplicates dropped 0, lost 0",
    );
    await r.type("/HELP\r");
    expect(r.vt.lines()).toContain("-- /nick NEW   change your nickname");
    await r.type("/frobnicate now\r");
    expect(r.vt.lines().at(-2)).toBe(
      "-- unknown command /frobnicate: /help lists them, //… sends a line starting with /",
    );
    expect(r.session.sent).toEqual([]);
    r.end();
    await r.exit;
  });

  test("Tab completes commands and nicks; Up recalls history", async () => {
    const r = room();
    await r.type("/wh\t");
    await r.type("\r");
    expect(r.vt.lines()).toContain("-- 2 members:");
    await r.type("bo");
    await r.type("\t");
    await r.type("there\r");
    expect(r.session.sent).toEqual([{ text: "bob: there" }]);
    await r.type("\x1b[A\x1b[A\r"); // Up twice: "bob: there", then "/who"
    expect(r.vt.lines().filter((l) => l === "-- 2 members:").length).toBe(2);
    r.end();
    await r.exit;
  });
});

describe("leaving", () => {
  for (const [name, key] of [
    ["Ctrl-D", CTRL_D],
    ["Ctrl-C", CTRL_C],
    ["/quit", "/quit\r"],
  ] as const) {
    test(`${name} closes the session and exits 0`, async () => {
      const r = room();
      await r.type("half typed");
      // Ctrl-D quits on an empty line only (Ctrl-U empties it); so does Ctrl-C, whose first
      // press clears the draft (issue 16).
      await r.type(name === "Ctrl-C" ? CTRL_C : "\x15");
      await r.type(key);
      expect(await r.exit).toBe(0);
      expect(r.session.closed).toBe(1);
      // The prompt is wiped; nothing is printed afterwards.
      r.session.emit(bobSays("too late"));
      expect(r.raw).not.toContain("too late");
      const last = r.vt.lines().at(-1) ?? "";
      if (name !== "Ctrl-C") expect(last).toBe(name === "/quit" ? "alice> /quit" : "");
      else expect(last).toBe("-- line cleared (Ctrl-C again to leave)"); // the hint stays; the prompt below it is wiped
    });
  }

  test("the abort signal (SIGTERM, SIGHUP) closes too", async () => {
    const r = room();
    r.controller.abort();
    expect(await r.exit).toBe(0);
    expect(r.session.closed).toBe(1);
  });

  test("terminal hung up: stdin closes without EOF and raw mode fails with EIO → BYE, exit 0", async () => {
    const r = room();
    await r.type("half typed");
    let dead = false;
    const rawModes: boolean[] = [];
    r.input.setRawMode = (on: boolean) => {
      rawModes.push(on);
      if (dead) throw new Error("setRawMode failed with errno: 5");
      return r.input;
    };
    dead = true;
    r.output.write = (() => {
      throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
    }) as typeof r.output.write;
    r.input.destroy(); // 'close' without 'end', as Bun's stdin on a hangup
    expect(await r.exit).toBe(0);
    expect(r.session.closed).toBe(1);
    expect(rawModes).toContain(false); // rl.close() tried (and threw), teardown went on
  });

  test("an input error (EIO) leaves too", async () => {
    const r = room();
    r.input.emit("error", Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
    expect(await r.exit).toBe(0);
    expect(r.session.closed).toBe(1);
  });

  test("a session.close() that never settles does not hold the exit (deadline)", async () => {
    const r = room();
    let called = 0;
    r.session.close = () => {
      called++;
      return new Promise<void>(() => {});
    };
    const t0 = performance.now();
    r.controller.abort();
    expect(await r.exit).toBe(0);
    expect(called).toBe(1);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(CLOSE_DEADLINE_MS - 20);
    expect(took).toBeLessThan(CLOSE_DEADLINE_MS + 2000);
  });

  test("Ctrl-D with text typed deletes a character, it does not quit", async () => {
    const r = room();
    await r.type(`ab${LEFT}${CTRL_D}\r`);
    expect(r.session.sent).toEqual([{ text: "a" }]);
    r.end();
    await r.exit;
  });
});

describe("a client of the room", () => {
  test("an event is consumed once the terminal's write has called back (paced)", async () => {
    const { room: r, session } = fakeRoom();
    const held: (() => void)[] = [];
    let written = "";
    const output = new Writable({
      write(chunk, _e, cb) {
        written += String(chunk);
        held.push(cb);
      },
    });
    const input = new PassThrough();
    const exit = runChat({ room: r, input, output, colors: plain });
    session.emit(bobSays("one"));
    session.emit({
      type: "join",
      time: new Date(T0),
      from: "198.18.0.3:1",
      nick: "carol",
      id: "c".repeat(16),
    });
    await waitFor(() => written.includes("<bob> one"), 1000, "the first event written");
    expect(r.hub.emitted).toBe(2);
    expect(r.hub.consumed).toBe(0); // written, not yet taken
    held.shift()?.();
    expect(r.hub.consumed).toBe(1);
    await waitFor(() => written.includes("carol joined"), 1000, "the second event written");
    expect(r.hub.consumed).toBe(1);
    held.shift()?.();
    expect(r.hub.consumed).toBe(2);
    input.end();
    output.write = ((_c: unknown, cb?: () => void) => {
      cb?.();
      return true;
    }) as typeof output.write;
    expect(await exit).toBe(0);
  });

  test("events from before the chat attached are shown, after the header", async () => {
    const { room: r, session } = fakeRoom();
    session.emit(bobSays("early"));
    const input = new PassThrough();
    const output = new PassThrough();
    let raw = "";
    output.on("data", (d: Buffer) => {
      raw += d.toString();
    });
    const exit = runChat({ room: r, input, output, colors: plain, header: ["-- joined"] });
    session.emit(bobSays("live"));
    await waitFor(() => raw.includes("live"), 1000, "the live event");
    expect(raw).toBe("-- joined\n12:00:00 <bob> early\n12:00:00 <bob> live\n");
    input.end();
    expect(await exit).toBe(0);
  });

  test("leaving closes the room (the chat is its owner), exactly once", async () => {
    const r = room();
    await r.type("/quit\r");
    expect(await r.exit).toBe(0);
    expect(r.room.state).toBe("closed");
    expect(r.session.closed).toBe(1);
  });

  test("an event the chat cannot show (a bug) is said, and the chat leaves with status 70", async () => {
    const r = room({ columns: 80 });
    r.room.members = () => {
      throw new Error("no members today");
    };
    r.session.emit(bobSays("boom"));
    expect(await r.exit).toBe(70);
    expect(r.vt.lines()).toContain(
      "-- internal error: cannot show the room's events: no members today",
    );
    expect(r.session.closed).toBe(1);
  });
});

describe("not a terminal", () => {
  test("lines in, messages out, no prompt, EOF exits 0", async () => {
    const r = room({ tty: false });
    await r.type("one\n/me two\n");
    r.session.emit(bobSays("three"));
    r.end();
    expect(await r.exit).toBe(0);
    expect(r.raw).toBe("12:00:00 <alice> one\n12:00:00 * alice two\n12:00:00 <bob> three\n");
  });
});

describe("helpers", () => {
  test("displayPos agrees with readline's cursor position", () => {
    const output: Stream = new PassThrough();
    output.isTTY = true;
    output.columns = 40;
    const input: Stream = new PassThrough();
    const rl = createInterface({ input, output, terminal: true, prompt: "" });
    for (const s of [
      "",
      "abc",
      "x".repeat(40),
      "x".repeat(81),
      "\x1b[1malice\x1b[22m> hi",
      `${"x".repeat(39)}漢`,
      "漢字かな".repeat(9),
      "a\tb",
      "e\u0301\u0301",
    ]) {
      rl.write(null, { ctrl: true, name: "u" });
      rl.write(s);
      expect(displayPos(s, 40)).toEqual(rl.getCursorPos());
    }
    rl.close();
  });

  test("parseInput", () => {
    expect(parseInput("")).toEqual({ kind: "empty" });
    expect(parseInput("  ")).toEqual({ kind: "empty" });
    expect(parseInput(" hi ")).toEqual({ kind: "send", text: " hi " });
    expect(parseInput("//x")).toEqual({ kind: "send", text: "/x" });
    expect(parseInput("/Nick  bob ")).toEqual({ kind: "command", name: "nick", arg: "bob" });
    expect(parseInput("/")).toEqual({ kind: "command", name: "", arg: "" });
  });

  test("completer", () => {
    const complete = makeCompleter(() => ["bob", "bobby", "carol"]);
    expect(complete("/")[0]).toEqual(["/help ", "/who ", "/nick ", "/me ", "/stats ", "/quit "]);
    expect(complete("/n")).toEqual([["/nick "], "/n"]);
    expect(complete("ca")).toEqual([["carol: "], "ca"]);
    expect(complete("hi bo")).toEqual([["bob ", "bobby "], "bo"]);
    expect(complete("/me pokes c")).toEqual([["carol "], "c"]);
    expect(complete("hi ")).toEqual([[], ""]);
    expect(complete("//x")).toEqual([[], "//x"]);
  });

  test("statsLines: one summary line; all = the --stats items", () => {
    const s = { ...emptyStats(), sent: 12, received: 340, repairsReceived: 3, lost: 1 };
    expect(statsLines(s, "", { members: 5 })).toEqual([
      "sent 12, received 340, repaired 3, lost 1, members 5 (/stats all for every counter)",
    ]);
    expect(statsLines(s)).toEqual([
      "sent 12, received 340, repaired 3, lost 1 (/stats all for every counter)",
    ]);
    const all = statsLines(s, "ALL", { encrypted: true }).join(", ");
    expect(`mcchat: stats: ${all}`).toBe(formatStats(s, { encrypted: true }));
  });

  test("statsLines: the room size estimate (N̂) and the heartbeat interval, when known", () => {
    const s = { ...emptyStats(), roomSize: 1000, heartbeatIntervalMs: 20_000 };
    expect(statsLines(s, "", { members: 998 })[0]).toBe(
      "sent 0, received 0, repaired 0, lost 0, members 998, room size (estimate) 1000 (/stats all for every counter)",
    );
    const all = statsLines(s, "all");
    expect(all[0]).toStartWith("sent 0, received 0,"); // --stats is read from its start
    expect(all.join(", ")).toContain(", room size (estimate) 1000, heartbeat every 20 s");
  });

  test("whoListing without members", () => {
    expect(whoListing([], { now: T0, colors: plain, spokeAt: () => undefined })).toEqual([
      "no member list: legacy (--raw) peers do not announce themselves",
    ]);
  });
});
