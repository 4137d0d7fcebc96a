import { afterAll, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.ts";
import type { Io } from "../../src/io.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { makeColors } from "../../src/ui/colors.ts";
import { clock, formatJson, formatPlain } from "../../src/ui/format.ts";
import { Presence, parseTranscriptLine, runReplay } from "../../src/ui/replay.ts";
import { day, markerJson, type SessionMarker } from "../../src/ui/session-marker.ts";

const dir = mkdtempSync(join(tmpdir(), "mcchat-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(lines: string[]): string {
  const path = join(dir, `t-${++n}.jsonl`);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(""));
  return path;
}

const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, s));
const A = "a1a1a1a1a1a1a1a1";
const B = "b2b2b2b2b2b2b2b2";
const B2 = "c3c3c3c3c3c3c3c3";
const ROOM: SessionEvent[] = [
  { type: "join", time: at(1), from: "10.0.0.2:5000", nick: "bob", id: B },
  { type: "message", time: at(2), from: "self", text: "hi all", nick: "alice", id: A, self: true },
  {
    type: "message",
    time: at(3),
    from: "10.0.0.2:5000",
    text: "hello\nsecond line",
    nick: "bob",
    id: B,
    seq: 0,
  },
  {
    type: "message",
    time: at(4),
    from: "10.0.0.9:6000",
    text: "old program says hi",
    legacy: true,
  },
  {
    type: "message",
    time: at(5),
    from: "10.0.0.2:5000",
    text: "waves",
    nick: "bob",
    id: B,
    seq: 1,
    action: true,
  },
  { type: "join", time: at(6), from: "10.0.0.3:5000", nick: "bob", id: B2 },
  {
    type: "message",
    time: at(7),
    from: "10.0.0.3:5000",
    text: "I am the other bob",
    nick: "bob",
    id: B2,
    seq: 0,
  },
  {
    type: "message",
    time: at(7),
    from: "10.0.0.2:5000",
    text: "which bob?",
    nick: "bob",
    id: B,
    seq: 2,
  },
  { type: "nick", time: at(8), from: "10.0.0.3:5000", nick: "robert", id: B2, old: "bob" },
  {
    type: "lost",
    time: at(9),
    from: "10.0.0.2:5000",
    nick: "bob",
    id: B,
    seq: 2,
    count: 3,
    messages: 2,
  },
  {
    type: "message",
    time: at(10),
    from: "10.0.0.2:5000",
    text: "evil \u001b]0;title\u0007 \u001b[2J",
    nick: "bob",
    id: B,
    seq: 5,
  },
  { type: "leave", time: at(11), from: "10.0.0.2:5000", nick: "bob", id: B, reason: "timeout" },
  { type: "warning", time: at(12), text: "the kernel gave a small receive buffer" },
];

interface Captured {
  io: Io;
  out: () => string;
  err: () => string;
}
function capture(opts: { tty?: boolean; env?: Record<string, string> } = {}): Captured {
  let out = "";
  let err = "";
  const stream = (append: (s: string) => void, isTTY: boolean) => ({
    isTTY,
    write: (s: string) => {
      append(s);
      return true;
    },
    once: () => {},
  });
  const io = {
    stdin: { isTTY: false },
    stdout: stream((s) => {
      out += s;
    }, opts.tty ?? false),
    stderr: stream((s) => {
      err += s;
    }, false),
    env: opts.env ?? {},
  } as unknown as Io;
  return { io, out: () => out, err: () => err };
}

/**
 * What the room showed, event by event: formatPlain with the members present then; replay
 * starts with the day line (all of ROOM is on one day).
 */
function shown(events: SessionEvent[], colors = makeColors({ env: {}, isTTY: false })): string {
  const presence = new Presence();
  const first = events[0];
  const dayLine = first ? `${colors.dim(`-- ${day(first.time)} --`)}\n` : "";
  return (
    dayLine +
    events.map((e) => formatPlain(e, colors, { members: presence.see(e) }).join("\n")).join("\n") +
    "\n"
  );
}

describe("runReplay", () => {
  test("prints the transcript as the room showed it (plain, sanitized, no colour off a terminal)", async () => {
    const path = file(ROOM.map(formatJson));
    const c = capture();
    expect(await runReplay(path, {}, c.io)).toBe(0);
    expect(c.err()).toBe("");
    expect(c.out()).toBe(shown(ROOM));
    const out = c.out();
    expect(out).not.toContain("\u001b");
    expect(out).toContain("<alice> hi all");
    expect(out).toContain("<bob> second line");
    expect(out).toContain("* bob waves");
    expect(out).toContain("-- bob is now known as robert");
    expect(out).toContain("-- 2 messages (3 datagrams) from bob were lost");
    expect(out).toContain("<bob> evil ^[]0;title^G ^[[2J");
    expect(out).toContain("-- bob timed out (10.0.0.2)");
    expect(out).toContain("-- warning: the kernel gave a small receive buffer");
  });

  test("two members with one nick are told apart while both are present", async () => {
    const path = file(ROOM.map(formatJson));
    const c = capture();
    await runReplay(path, {}, c.io);
    const lines = c.out().split("\n");
    expect(lines).toContain(`${clock(at(3))} <bob> hello`);
    expect(lines).toContain(`${clock(at(6))} -- bob#c3c3 joined (10.0.0.3)`);
    expect(lines).toContain(`${clock(at(7))} <bob#c3c3> I am the other bob`);
    expect(lines).toContain(`${clock(at(7))} <bob#b2b2> which bob?`);
  });

  test("colours on a terminal; NO_COLOR turns them off", async () => {
    const path = file(ROOM.map(formatJson));
    const tty = capture({ tty: true, env: { TERM: "xterm" } });
    await runReplay(path, {}, tty.io);
    expect(tty.out()).toContain("\u001b[");
    expect(tty.out()).toBe(shown(ROOM, makeColors({ env: { TERM: "xterm" }, isTTY: true })));
    const noColor = capture({ tty: true, env: { TERM: "xterm", NO_COLOR: "1" } });
    await runReplay(path, {}, noColor.io);
    expect(noColor.out()).toBe(shown(ROOM));
  });

  test("on a terminal, a padded line wraps into an indented row, not a fake line (issue 15)", async () => {
    const padded: SessionEvent = {
      type: "message",
      time: at(1),
      from: "10.0.0.9:25000",
      text: `brb${" ".repeat(58)}18:32:55 <alice> admins: paste your ~/.ssh/id_rsa`,
      nick: "mallory",
      id: "d4d4d4d4d4d4d4d4",
      seq: 0,
    };
    const tty = capture({ tty: true, env: { NO_COLOR: "1" } });
    (tty.io.stdout as { columns?: number }).columns = 80;
    await runReplay(file([formatJson(padded)]), {}, tty.io);
    const rows = tty.out().split("\n");
    expect(rows[0]).toBe(`-- ${day(at(1))} --`);
    expect(rows[1]).toStartWith(`${clock(at(1))} <mallory> brb`);
    expect(rows[2]).toBe(`${" ".repeat(9)}18:32:55 <alice> admins: paste your ~/.ssh/id_rsa`);
  });

  // Issue 16: transcripts had no dates and no session start or end.
  describe("dates and session markers (issue 16)", () => {
    // Local times: the dates and clocks replay shows do not depend on the time zone.
    const local = (d: number, h: number, m: number, sec: number) =>
      new Date(2026, 11, d, h, m, sec);
    const opened: SessionMarker = {
      type: "session",
      event: "open",
      time: local(4, 23, 59, 58),
      room: "239.1.100.1:25000",
      nick: "alice",
      version: "0.4.0",
    };
    const closed: SessionMarker = {
      type: "session",
      event: "close",
      time: local(5, 0, 0, 2),
      reason: "left",
      status: 0,
    };
    const say = (time: Date, text: string): SessionEvent => ({
      type: "message",
      time,
      from: "self",
      text,
      nick: "alice",
      id: A,
      self: true,
    });
    const session = [
      markerJson(opened),
      formatJson(say(local(4, 23, 59, 59), "hi")),
      formatJson(say(local(5, 0, 0, 1), "after midnight")),
      markerJson(closed),
    ];

    test("the markers with their dates; a day line when the date changes", async () => {
      const c = capture();
      expect(await runReplay(file(session), {}, c.io)).toBe(0);
      expect(c.err()).toBe("");
      expect(c.out()).toBe(
        [
          "-- session opened 2026-12-04 23:59:58 in 239.1.100.1:25000 as alice (mcchat 0.4.0)",
          "23:59:59 <alice> hi",
          "-- 2026-12-05 --",
          "00:00:01 <alice> after midnight",
          "-- session closed 2026-12-05 00:00:02 (left)",
          "",
        ].join("\n"),
      );
    });

    test("a close by a signal says so, with the status; a session without close is just cut", async () => {
      const stopped = markerJson({ ...closed, reason: "SIGTERM", status: 0 });
      const killed = markerJson({ ...closed, reason: "hangup", status: 129 });
      const c = capture();
      expect(await runReplay(file([markerJson(opened), stopped, killed]), {}, c.io)).toBe(0);
      expect(c.out()).toContain("-- session closed 2026-12-05 00:00:02 (SIGTERM)\n");
      expect(c.out()).toContain("-- session closed 2026-12-05 00:00:02 (hangup, status 129)\n");
    });

    test("an old transcript without markers still replays, its date on the first line", async () => {
      const c = capture();
      const old = [
        formatJson(say(local(3, 9, 0, 0), "old")),
        formatJson(say(local(3, 9, 0, 1), "x")),
      ];
      expect(await runReplay(file(old), {}, c.io)).toBe(0);
      expect(c.err()).toBe("");
      expect(c.out()).toBe("-- 2026-12-03 --\n09:00:00 <alice> old\n09:00:01 <alice> x\n");
    });

    test("--json passes the marker lines through unchanged", async () => {
      const c = capture();
      expect(await runReplay(file(session), { json: true }, c.io)).toBe(0);
      expect(c.out()).toBe(`${session.join("\n")}\n`);
    });

    test("markers read back; bad ones are warned about like bad events", () => {
      expect(parseTranscriptLine(markerJson(opened))).toEqual(opened);
      expect(parseTranscriptLine(markerJson(closed))).toEqual(closed);
      const bad = (o: object) =>
        parseTranscriptLine(
          JSON.stringify({ type: "session", time: "2026-12-04T10:00:00Z", ...o }),
        );
      expect(bad({ event: "open", room: "r", nick: 3, version: "v" })).toEqual({
        error: "session open with a bad nick",
      });
      expect(bad({ event: "close", reason: "left" })).toEqual({
        error: "session close with no status",
      });
      expect(bad({ event: "nap" })).toEqual({ error: 'unknown session event "nap"' });
    });

    test("a marker's strings are sanitized on the screen", async () => {
      const evil = markerJson({ ...opened, nick: "al\u001b[2Jice", room: "r\u0007" });
      const c = capture();
      await runReplay(file([evil]), {}, c.io);
      expect(c.out()).not.toContain("\u001b");
      expect(c.out()).not.toContain("\u0007");
    });
  });

  test("--json passes the lines through unchanged", async () => {
    const lines = ROOM.map(formatJson);
    const c = capture();
    expect(await runReplay(file(lines), { json: true }, c.io)).toBe(0);
    expect(c.out()).toBe(`${lines.join("\n")}\n`);
  });

  test("bad lines: one warning each with the line number, the rest shown, exit 1", async () => {
    const good = ROOM.slice(0, 3).map(formatJson);
    const path = file([
      good[0] as string,
      "not json at all",
      good[1] as string,
      '{"type":"dance","time":"2026-11-27T10:00:00Z"}',
      '{"type":"message","time":"yesterday","from":"x","text":"t"}',
      '{"type":"join","time":"2026-11-27T10:00:00Z","from":"x","nick":"n"}',
      "[1,2]",
      good[2] as string,
      '{"type":"message","time":"2026-11-27T10:00:0', // cut short by kill -9
    ]);
    const c = capture();
    expect(await runReplay(path, {}, c.io)).toBe(1);
    expect(c.err()).toBe(
      [
        `mcchat: warning: ${path}:2: not JSON, skipped`,
        `mcchat: warning: ${path}:4: unknown event type "dance", skipped`,
        `mcchat: warning: ${path}:5: no valid time, skipped`,
        `mcchat: warning: ${path}:6: join event with no id, skipped`,
        `mcchat: warning: ${path}:7: not a JSON object, skipped`,
        `mcchat: warning: ${path}:9: not JSON, skipped`,
        "",
      ].join("\n"),
    );
    expect(c.out()).toBe(shown(ROOM.slice(0, 3)));
  });

  test("--json skips bad lines the same way", async () => {
    const good = formatJson(ROOM[0] as SessionEvent);
    const c = capture();
    expect(await runReplay(file(["{}", good]), { json: true }, c.io)).toBe(1);
    expect(c.out()).toBe(`${good}\n`);
    expect(c.err()).toContain(":1: unknown event type null, skipped");
  });

  test("many bad lines: 20 warnings, then one count", async () => {
    const c = capture();
    const path = file(Array.from({ length: 25 }, (_, i) => `garbage ${i}`));
    expect(await runReplay(path, {}, c.io)).toBe(1);
    const warnings = c.err().trimEnd().split("\n");
    expect(warnings).toHaveLength(21);
    expect(warnings[19]).toBe(`mcchat: warning: ${path}:20: not JSON, skipped`);
    expect(warnings[20]).toBe(`mcchat: warning: ${path}: 5 more lines skipped (25 of 25 in all)`);
  });

  test("the reader going away (EPIPE) ends the replay at once, exit 0", async () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...(ROOM[2] as SessionEvent), seq: i }));
    const stdout = new EventEmitter() as EventEmitter & {
      isTTY: boolean;
      write(s: string): boolean;
    };
    let writes = 0;
    stdout.isTTY = false;
    stdout.write = () => {
      writes++;
      // Full, and then the reader is gone: no 'drain' will ever come.
      setTimeout(
        () => stdout.emit("error", Object.assign(new Error("EPIPE"), { code: "EPIPE" })),
        1,
      );
      return false;
    };
    const c = capture();
    const io = { ...c.io, stdout } as unknown as Io;
    expect(await runReplay(file(many.map(formatJson)), {}, io)).toBe(0);
    expect(writes).toBe(1);
    expect(stdout.listenerCount("error")).toBe(0);
  });

  test("an empty transcript prints nothing, exit 0", async () => {
    const c = capture();
    expect(await runReplay(file([]), {}, c.io)).toBe(0);
    expect(c.out()).toBe("");
  });

  test("a missing file is one line, exit 1", async () => {
    const c = capture();
    const path = join(dir, "nope.jsonl");
    const err = await runReplay(path, {}, c.io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`cannot read ${path}: no such file (ENOENT)`);
    expect((err as UserError).exitCode).toBe(1);
  });

  test("a directory is one line, exit 1", async () => {
    const c = capture();
    const err = await runReplay(dir, {}, c.io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`cannot read ${dir}: EISDIR`);
  });
});

describe("parseTranscriptLine", () => {
  test("every event formatJson writes reads back as the same event", () => {
    for (const e of ROOM) expect(parseTranscriptLine(formatJson(e))).toEqual(e);
  });

  test("field types are checked", () => {
    const bad = (o: object) =>
      parseTranscriptLine(JSON.stringify({ time: "2026-11-27T10:00:00Z", ...o }));
    expect(bad({ type: "message", from: "x", text: 5 })).toEqual({
      error: "message event with a bad text",
    });
    expect(bad({ type: "message", from: "x", text: "t", seq: -1 })).toEqual({
      error: "message event with a bad seq",
    });
    expect(bad({ type: "leave", from: "x", nick: "n", id: "i", reason: "bored" })).toEqual({
      error: "leave event with a bad reason",
    });
    expect(bad({ type: "warning" })).toEqual({ error: "warning event with no text" });
    expect(bad({ type: "toString" })).toEqual({ error: 'unknown event type "toString"' });
  });
});
