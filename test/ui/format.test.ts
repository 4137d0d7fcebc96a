import { describe, expect, test } from "bun:test";
import type { SessionEvent } from "../../src/session/events.ts";
import { makeColors } from "../../src/ui/colors.ts";
import { clock, displayName, formatJson, formatPlain, hostOf } from "../../src/ui/format.ts";

// Built from local fields, so HH:MM:SS is 09:05:03 in any time zone.
const T = new Date(2024, 0, 2, 9, 5, 3, 250);
const plain = makeColors({ env: {}, isTTY: false });
const color = makeColors({ env: { FORCE_COLOR: "1" }, isTTY: false });
const ID_A = "3f2a9c0011223344";
const ID_B = "77aa000000000001";
/** A legacy datagram's text, as the session reports it. */
const LEGACY_MSG: SessionEvent = {
  type: "message",
  time: T,
  from: "10.0.0.2:51234",
  text: "大家好",
  legacy: true,
};

describe("helpers", () => {
  test("clock is local HH:MM:SS, zero padded", () => {
    expect(clock(T)).toBe("09:05:03");
    expect(clock(new Date(2024, 5, 6, 23, 59, 0))).toBe("23:59:00");
  });
  test("hostOf strips the port, IPv4 and IPv6", () => {
    expect(hostOf("10.0.0.2:51234")).toBe("10.0.0.2");
    expect(hostOf("[fe80::1%eth0]:5000")).toBe("fe80::1%eth0");
    expect(hostOf("weird")).toBe("weird");
  });
});

describe("displayName", () => {
  test("plain nick when unique", () => {
    expect(
      displayName("alice", ID_A, [
        { nick: "alice", id: ID_A },
        { nick: "bob", id: ID_B },
      ]),
    ).toBe("alice");
    expect(displayName("alice", ID_A, [])).toBe("alice");
  });
  test("#id4 when another member shows the same nick", () => {
    const present = [
      { nick: "alice", id: ID_A },
      { nick: "alice", id: ID_B },
    ];
    expect(displayName("alice", ID_A, present)).toBe("alice#3f2a");
    expect(displayName("alice", ID_B, present)).toBe("alice#77aa");
  });
  test("nicks that only differ by invisible characters are ambiguous too", () => {
    expect(displayName("alice", ID_A, [{ nick: "ali\u202Ece", id: ID_B }])).toBe("alice#3f2a");
  });
  test("look-alike nicks (issue 15) get the suffix: skeletons decide, not exact strings", () => {
    const lookAlikes = [
      "alice\u200D", // zero-width joiner
      "ali\u00ADce", // soft hyphen
      "alice\u3164", // Hangul filler
      "\u115Falice", // Hangul choseong filler
      "alice\u1160", // Hangul jungseong filler
      "alice\uFFA0", // halfwidth Hangul filler
      "alic\u0435", // Cyrillic е
      "\u0430lice", // Cyrillic а
      "Alice",
      "al1ce",
    ];
    for (const fake of lookAlikes) {
      const present = [
        { nick: "alice", id: ID_A },
        { nick: fake, id: ID_B },
      ];
      expect({ fake, real: displayName("alice", ID_A, present) }).toEqual({
        fake,
        real: "alice#3f2a",
      });
      expect({ fake, shown: displayName(fake, ID_B, present).endsWith("#77aa") }).toEqual({
        fake,
        shown: true,
      });
    }
    // JSON keeps the nick exactly as sent (programs tell members apart by id).
    const json = formatJson({ ...LEGACY_MSG, legacy: undefined, nick: "alice\u3164", id: ID_B });
    expect(JSON.parse(json)).toMatchObject({ nick: "alice\u3164", id: ID_B });
    // Different-looking nicks stay plain.
    expect(displayName("alice", ID_A, [{ nick: "alicia", id: ID_B }])).toBe("alice");
  });
  test("invisible fillers are not shown in the nick; ZWJ (emoji) is kept", () => {
    expect(displayName("alice\u3164", ID_B, [])).toBe("alice");
    expect(displayName("al\u00ADice\uFFA0\u115F", ID_B, [])).toBe("alice");
    expect(displayName("\u3164", ID_B, [])).toBe("?");
    expect(displayName("👩\u200D💻", ID_B, [])).toBe("👩\u200D💻");
  });
  test("a member that looks like us gets its suffix, and so do we", () => {
    // The chat passes room.members(): ourselves included.
    const present = [
      { nick: "alice", id: ID_A }, // us
      { nick: "alic\u0435", id: ID_B },
    ];
    expect(displayName("alic\u0435", ID_B, present)).toBe("alic\u0435#77aa");
    expect(displayName("alice", ID_A, present)).toBe("alice#3f2a");
  });
  test("longer prefix when the first 4 hex digits collide", () => {
    expect(displayName("x", "abcd1234", [{ nick: "x", id: "abcd9999" }])).toBe("x#abcd1");
  });
  test("sanitizes the nick", () => {
    expect(displayName("\x1b]0;t\x07", undefined, [])).toBe("^[]0;t^G");
  });
});

describe("formatPlain", () => {
  const fmt = (e: SessionEvent, members = [] as { nick: string; id: string }[]) =>
    formatPlain(e, plain, { members });

  test("legacy message: exact shape from issue 1", () => {
    expect(fmt(LEGACY_MSG)).toEqual(["09:05:03 10.0.0.2:51234  大家好"]);
    // anonymous (no nick) is shown the same way
    expect(fmt({ ...LEGACY_MSG, legacy: undefined })).toEqual(["09:05:03 10.0.0.2:51234  大家好"]);
  });

  test("legacy multi-line and hostile text", () => {
    const e: SessionEvent = { ...LEGACY_MSG, text: "a\r\n\x1b[2Jb" };
    expect(fmt(e)).toEqual(["09:05:03 10.0.0.2:51234  a", "09:05:03 10.0.0.2:51234  ^[[2Jb"]);
  });

  const msg: SessionEvent = {
    type: "message",
    time: T,
    from: "10.0.0.2:5000",
    text: "hi\nthere",
    nick: "alice",
    id: ID_A,
    seq: 7,
  };

  test("framed message, multi-line", () => {
    expect(fmt(msg)).toEqual(["09:05:03 <alice> hi", "09:05:03 <alice> there"]);
  });
  test("ambiguous nick gets #id4", () => {
    expect(fmt(msg, [{ nick: "alice", id: ID_B }])).toEqual([
      "09:05:03 <alice#3f2a> hi",
      "09:05:03 <alice#3f2a> there",
    ]);
  });
  test("legacy text in an encrypted room is marked unauthenticated (plain and JSON)", () => {
    const e = { type: "message", time: T, from: "10.0.0.9:5000", text: "hi" } as const;
    const legacy = { ...e, legacy: true, unauthenticated: true };
    expect(fmt(legacy)).toEqual(["09:05:03 [unauthenticated] 10.0.0.9:5000  hi"]);
    expect(JSON.parse(formatJson(legacy))).toMatchObject({ legacy: true, unauthenticated: true });
    expect(fmt({ ...e, legacy: true })).toEqual(["09:05:03 10.0.0.9:5000  hi"]);
  });

  test("history, action, hostile nick", () => {
    expect(fmt({ ...msg, text: "x", history: true })).toEqual(["09:05:03 [history] <alice> x"]);
    expect(fmt({ ...msg, text: "waves", action: true })).toEqual(["09:05:03 * alice waves"]);
    expect(fmt({ ...msg, text: "x", nick: "a\nb\x9b" })).toEqual(["09:05:03 <a_b\\x9b> x"]);
    expect(fmt({ ...msg, text: "ok", nick: "alice> run it <bob" })).toEqual([
      "09:05:03 <alice>_run_it_<bob> ok",
    ]);
  });
  test("a relayed history line says who relayed it, before the speaker (plain and JSON)", () => {
    const relayed = {
      ...msg,
      from: "10.0.0.66:5001",
      text: "DM me your passphrase",
      history: true,
      via: { nick: "mal\x1blory", id: "6d616c6c6f727921" },
    };
    expect(fmt(relayed)).toEqual([
      "09:05:03 [history via mal^[lory] <alice> DM me your passphrase",
    ]);
    expect(JSON.parse(formatJson(relayed))).toMatchObject({
      from: "10.0.0.66:5001",
      history: true,
      via: { nick: "mal\x1blory", id: "6d616c6c6f727921" },
    });
  });
  test("self is bold, history dim, time dim when coloured", () => {
    const [line] = formatPlain({ ...msg, text: "x", self: true, history: true }, color);
    expect(line).toContain("\x1b[1m"); // bold
    expect(line).toContain("\x1b[2m[history]");
    expect(line).toStartWith("\x1b[2m09:05:03");
  });

  test("notices", () => {
    const base = { time: T, from: "10.0.0.2:5000", nick: "alice", id: ID_A };
    expect(fmt({ type: "join", ...base })).toEqual(["09:05:03 -- alice joined (10.0.0.2)"]);
    expect(fmt({ type: "leave", ...base, reason: "bye" })).toEqual([
      "09:05:03 -- alice left (10.0.0.2)",
    ]);
    expect(fmt({ type: "leave", ...base, reason: "timeout" })).toEqual([
      "09:05:03 -- alice timed out (10.0.0.2)",
    ]);
    expect(fmt({ type: "nick", ...base, old: "bob\x1b" })).toEqual([
      "09:05:03 -- bob^[ is now known as alice",
    ]);
    expect(fmt({ type: "lost", ...base, seq: 7, count: 3, messages: 3 })).toEqual([
      "09:05:03 -- 3 messages from alice were lost",
    ]);
    expect(fmt({ type: "lost", ...base, seq: 7, count: 1, messages: 1 })).toEqual([
      "09:05:03 -- 1 message from alice was lost",
    ]);
    expect(fmt({ type: "lost", ...base, seq: 7, count: 5, messages: 1 })).toEqual([
      "09:05:03 -- 1 message (5 datagrams) from alice was lost",
    ]);
    expect(fmt({ type: "warning", time: T, text: "a\nb" })).toEqual([
      "09:05:03 -- warning: a",
      "09:05:03 -- warning: b",
    ]);
  });

  test("sanitize limits pass through", () => {
    const lines = formatPlain({ ...msg, text: "abcdef\n2\n3" }, plain, {
      maxLength: 4,
      maxLines: 2,
    });
    // The "more lines" marker is held to maxLength too: its short form.
    expect(lines).toEqual(["09:05:03 <alice> abc…", "09:05:03 <alice> [+2]"]);
  });

  test("no raw control characters with colour off", () => {
    const lines = fmt({ ...msg, text: "\x1b]52;c;AAAA\x07\x9b2J\u202E" });
    for (const line of lines) expect(line).not.toMatch(/\p{Cc}|\u202e/u);
  });
});

describe("formatJson", () => {
  test("legacy message: required shape, time ISO", () => {
    expect(formatJson(LEGACY_MSG)).toBe(
      `{"type":"message","time":"${T.toISOString()}","from":"10.0.0.2:51234","text":"大家好","legacy":true}`,
    );
  });

  test("framed message with all fields; text kept exact", () => {
    const text = "a\x1b[2J\x9b\u202E\u2028\uD800\nb";
    const e: SessionEvent = {
      type: "message",
      time: T,
      from: "[fe80::1]:5000",
      text,
      nick: "al\x07",
      id: ID_A,
      seq: 9,
      action: true,
      history: false,
      self: true,
    };
    const line = formatJson(e);
    expect(line).not.toMatch(/\p{Cc}|[\u2028\u2029\u202e]/u);
    expect(JSON.parse(line)).toEqual({ ...e, time: T.toISOString() });
    expect(Object.keys(JSON.parse(line))).toEqual([
      "type",
      "time",
      "from",
      "text",
      "nick",
      "id",
      "seq",
      "action",
      "history",
      "self",
    ]);
  });

  test("other events", () => {
    const base = { time: T, from: "10.0.0.2:5000", nick: "alice", id: ID_A };
    const iso = T.toISOString();
    const j = (e: SessionEvent) => JSON.parse(formatJson(e));
    expect(j({ type: "join", ...base })).toEqual({ type: "join", ...base, time: iso });
    expect(j({ type: "leave", ...base, reason: "timeout" })).toEqual({
      type: "leave",
      ...base,
      time: iso,
      reason: "timeout",
    });
    expect(j({ type: "nick", ...base, old: "bob" })).toEqual({
      type: "nick",
      ...base,
      time: iso,
      old: "bob",
    });
    expect(j({ type: "lost", ...base, seq: 4294967295, count: 3, messages: 2 })).toEqual({
      type: "lost",
      ...base,
      time: iso,
      seq: 4294967295,
      count: 3,
      messages: 2,
    });
    expect(formatJson({ type: "warning", time: T, text: "w" })).toBe(
      `{"type":"warning","time":"${iso}","text":"w"}`,
    );
  });
});
