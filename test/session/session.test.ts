/**
 * The real Session over an in-memory room (MemoryHub), on a virtual clock: time moves only when
 * a test runs the clock (VirtualClock), so nothing sleeps and a busy machine changes nothing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { UserError } from "../../src/errors.ts";
import { encode, Flag, TypeCode } from "../../src/protocol/index.ts";
import { encodeChunks } from "../../src/protocol/text-codec.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { REPAIR_BUFFER_DEFAULTS } from "../../src/session/sending/repair-buffer.ts";
import {
  closeRoomMembers,
  roomMember as member,
  type VirtualRoom as Room,
  virtualRoom as room,
  until,
} from "../helpers/virtual-room.ts";

afterEach(closeRoomMembers);

/** Runs the clock while `p` settles (a send waiting for the window, a drain); returns its value. */
async function settle<T>(r: Room, p: Promise<T>, ms = 30_000): Promise<T> {
  let done = false;
  const q = p.finally(() => {
    done = true;
  });
  await until(r, () => done, ms);
  return q;
}

const texts = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));

describe("presence", () => {
  test("join, nick change, leave with BYE", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob", {}, "198.18.0.2");
    await a.s.start();
    await b.s.start();
    await until(rm, () => a.events.some((e) => e.type === "join" && e.nick === "bob"));
    await until(rm, () => b.events.some((e) => e.type === "join" && e.nick === "alice"));
    expect(
      a.s
        .members()
        .map((m) => m.nick)
        .sort(),
    ).toEqual(["alice", "bob"]);
    const join = a.events.find((e) => e.type === "join");
    expect(join).toMatchObject({ from: expect.stringMatching(/^198\.18\.0\.2:\d+$/), id: b.s.id });

    await b.s.setNick("robert");
    await until(rm, () => a.events.some((e) => e.type === "nick"));
    expect(a.events.find((e) => e.type === "nick")).toMatchObject({ old: "bob", nick: "robert" });

    await b.s.close();
    await until(rm, () => a.events.some((e) => e.type === "leave"));
    expect(a.events.find((e) => e.type === "leave")).toMatchObject({
      nick: "robert",
      reason: "bye",
    });
    expect(a.s.members().map((m) => m.nick)).toEqual(["alice"]);
  });

  test("a silent member times out after 3 heartbeat intervals", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob");
    await a.s.start();
    await b.s.start();
    await until(rm, () => a.events.some((e) => e.type === "join"));
    // bob vanishes without BYE (killed): his transport stops.
    b.transport.closed = true;
    rm.hub.detach(b.transport);
    const t0 = rm.vc.now();
    await until(rm, () => a.events.some((e) => e.type === "leave"), 3000);
    const took = rm.vc.now() - t0;
    expect(a.events.find((e) => e.type === "leave")).toMatchObject({ reason: "timeout" });
    // Not before 3 intervals of silence (bob's last heartbeat was at most one interval before he
    // vanished), and right after them: the clock is virtual, so this bound is exact but for one
    // hop (0.5 ms): a frame bob sent just before he vanished (his REPORT) is heard after.
    expect(took).toBeGreaterThanOrEqual(3 * 200 - 200);
    expect(took).toBeLessThanOrEqual(3 * 200 + 1 + 0.5);
  });

  test("two members with one nick keep distinct ids", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b1 = member(rm, "bob");
    const b2 = member(rm, "bob");
    for (const m of [a, b1, b2]) await m.s.start();
    await until(rm, () => a.events.filter((e) => e.type === "join").length === 2);
    const ids = a.s
      .members()
      .filter((m) => m.nick === "bob")
      .map((m) => m.id);
    expect(new Set(ids).size).toBe(2);
  });
});

describe("messages", () => {
  test("own messages are echoed once, never twice via loopback", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob");
    await a.s.start();
    await b.s.start();
    await a.s.send("hello");
    await until(rm, () => texts(b.events).includes("hello"));
    await rm.vc.run(50);
    const mine = a.events.filter((e) => e.type === "message");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ self: true, text: "hello", nick: "alice" });
  });

  test("a 10,000-character message arrives whole, in fragments of at most 1,200 bytes", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob");
    await a.s.start();
    await b.s.start();
    const chars = Array.from("大家好😀abc");
    const text = Array.from({ length: 10000 }, (_, i) => chars[i % chars.length]).join("");
    const before = rm.hub.sent.length;
    await a.s.send(text);
    await until(rm, () => texts(b.events).length === 1);
    expect(texts(b.events)[0]).toBe(text);
    const datagrams = rm.hub.sent.slice(before).filter((d) => d.from === a.transport);
    expect(datagrams.length).toBeGreaterThan(10);
    for (const d of datagrams) expect(d.data.length).toBeLessThanOrEqual(1200 + 62);
  });

  test("a 70,000-byte message is refused and nothing is sent", async () => {
    const rm = room();
    const a = member(rm, "alice");
    await a.s.start();
    const before = rm.hub.sent.length;
    const err = await a.s.send("x".repeat(70000)).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(String(err.message)).toMatch(/too long.*70000 bytes.*nothing was sent/);
    expect(rm.hub.sent.slice(before).some((d) => d.data.length > 100)).toBe(false);
  });

  test("/me actions carry the flag", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob");
    await a.s.start();
    await b.s.start();
    await a.s.send("waves", { action: true });
    await until(rm, () => texts(b.events).length === 1);
    expect(b.events.find((e) => e.type === "message")).toMatchObject({
      action: true,
      nick: "alice",
    });
  });

  test("legacy datagrams are messages with legacy:true, decoded with the encoding", async () => {
    const rm = room();
    const a = member(rm, "alice", { encoding: "gbk" });
    await a.s.start();
    const legacy = rm.hub.attach("198.18.0.9", { raw: true });
    await legacy.send(encodeChunks("大家好", "gbk")[0] as Uint8Array);
    await until(rm, () => texts(a.events).length === 1);
    expect(a.events.find((e) => e.type === "message")).toMatchObject({
      text: "大家好",
      legacy: true,
      from: expect.stringMatching(/^198\.18\.0\.9:/),
    });
  });

  test("damaged frames are counted and dropped, never shown as text", async () => {
    const rm = room();
    const a = member(rm, "alice");
    await a.s.start();
    const evil = rm.hub.attach("198.18.0.9");
    const good = encode({
      type: "heartbeat",
      id: "0123456789abcdef",
      seq: 0,
      nick: "x",
      age: 1,
    });
    await evil.send(good.slice(0, good.length - 3)); // truncated
    await evil.send(new Uint8Array([0xff, 0x4d, 9, 1, 0])); // unknown version
    await rm.vc.run(30);
    expect(a.s.stats.malformed).toBe(2);
    expect(texts(a.events)).toEqual([]);
  });

  test("raw mode sends plain text datagrams and no framed traffic", async () => {
    const rm = room();
    const a = member(rm, "alice", { raw: true, encoding: "gbk" });
    await a.s.start();
    await a.s.send("大家好");
    await rm.vc.run(250);
    const mine = rm.hub.sent.filter((d) => d.from === a.transport);
    expect(mine.map((d) => Buffer.from(d.data).toString("hex"))).toEqual(["b4f3bcd2bac3"]);
  });

  test("unencodable characters give a warning in legacy mode", async () => {
    const rm = room();
    const a = member(rm, "alice", { raw: true, encoding: "gbk" });
    await a.s.start();
    await a.s.send("hi 😀");
    expect(a.events.find((e) => e.type === "warning")).toMatchObject({
      text: expect.stringContaining("😀"),
    });
  });

  test("listen-only members refuse to send", async () => {
    const rm = room();
    const a = member(rm, "alice", { listen: true });
    await a.s.start();
    expect(await a.s.send("x").catch((e) => e)).toBeInstanceOf(UserError);
  });
});

describe("history", () => {
  test("a late joiner with history 5 gets exactly the last 5 messages, once, in order", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob");
    await a.s.start();
    await b.s.start();
    for (let i = 1; i <= 4; i++) {
      await a.s.send(`a${i}`);
      await rm.vc.run(3);
      await b.s.send(`b${i}`);
      await rm.vc.run(3);
    }
    const late = member(rm, "carol", { history: 5, historyWaitMs: 300 });
    await late.s.start();
    await until(rm, () => late.events.some((e) => e.type === "message" && e.history));
    await rm.vc.run(400);
    const hist = late.events.filter((e) => e.type === "message" && e.history);
    expect(hist.map((e) => (e.type === "message" ? e.text : ""))).toEqual([
      "b2",
      "a3",
      "b3",
      "a4",
      "b4",
    ]);
    // and nothing older than the join was shown as a live message
    expect(late.events.filter((e) => e.type === "message" && !e.history)).toEqual([]);
  });
});

describe("repair over a lossy medium (in memory, virtual clock)", () => {
  test("20% loss on each receiver: every message exactly once, in order; the sender drains", async () => {
    const rm = room();
    const sender = member(rm, "alice");
    const r1 = member(rm, "bob");
    const r2 = member(rm, "carol", { listen: true });
    const lossy = new Set([r1.transport, r2.transport]);
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    rm.hub.drop = (to) => lossy.has(to as never) && rand() < 0.2;
    for (const m of [r1, r2, sender]) await m.s.start();
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    await settle(
      rm,
      (async () => {
        for (const l of lines) await sender.s.send(l);
      })(),
    );
    expect(await settle(rm, sender.s.drain(10000))).toEqual({ behind: [] });
    await until(rm, () => texts(r1.events).length >= 200 && texts(r2.events).length >= 200, 10000);
    expect(texts(r1.events)).toEqual(lines);
    expect(texts(r2.events)).toEqual(lines);
    expect(r1.events.some((e) => e.type === "lost")).toBe(false);
    expect(sender.s.stats.repairsSent).toBeGreaterThan(0);
    expect(r2.s.stats.nacksSent).toBeGreaterThan(0); // a listener asks for repairs too
  }, 20000);

  test("data the sender no longer holds is reported lost, never a silent gap", async () => {
    const rm = room();
    const sender = member(rm, "alice");
    const r = member(rm, "bob");
    for (const m of [r, sender]) await m.s.start();
    await until(rm, () => r.events.some((e) => e.type === "join"));
    // bob hears nothing of alice's data for a while: messages 0..N-1 (more than the
    // repair buffer holds) are dropped for him, then the link heals. Alice waits for him at
    // first (flow control), then stops waiting: he is not keeping up.
    const N = REPAIR_BUFFER_DEFAULTS.maxCount + 2000;
    let blocked = true;
    rm.hub.drop = (to, d) => blocked && to === r.transport && d.data[3] === TypeCode.record;
    await settle(
      rm,
      (async () => {
        for (let i = 0; i < N; i++) await sender.s.send(`m${i}`);
      })(),
    );
    blocked = false;
    await settle(rm, sender.s.send("after"));
    let after = false;
    r.s.on((e) => {
      if (e.type === "message" && e.text === "after") after = true;
    });
    await until(rm, () => after, 15000);
    const lost = r.events.flatMap((e) => (e.type === "lost" ? [e.count] : []));
    const got = texts(r.events);
    expect(lost.reduce((a, b) => a + b, 0) + got.length).toBe(N + 1);
    expect(lost.length).toBeGreaterThan(0);
    // the loss is reported where it happened: before the messages that follow the gap
    const firstLost = r.events.findIndex((e) => e.type === "lost");
    const firstMessage = r.events.findIndex((e) => e.type === "message");
    expect(firstLost).toBeLessThan(firstMessage);
    // what did arrive is in order
    const nums = got.filter((t) => t !== "after").map((t) => Number(t.slice(1)));
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
  }, 30000);
});

describe("history from the room", () => {
  test("survives the sender's departure, and one member answers for the room", async () => {
    const rm = room();
    const a = member(rm, "alice");
    const b = member(rm, "bob", { listen: true });
    const c = member(rm, "carol", { listen: true });
    for (const m of [b, c, a]) await m.s.start();
    for (let i = 1; i <= 6; i++) await a.s.send(`a${i}`);
    await until(rm, () => texts(b.events).length === 6 && texts(c.events).length === 6);
    await a.s.close(); // alice leaves: only the listeners remember her words
    const before = rm.hub.sent.length;
    const late = member(rm, "dave", { history: 4, historyWaitMs: 300 });
    await late.s.start();
    await rm.vc.run(450);
    const hist = late.events.flatMap((e) => (e.type === "message" && e.history ? [e.text] : []));
    expect(hist).toEqual(["a3", "a4", "a5", "a6"]);
    const answers = rm.hub.sent
      .slice(before)
      .filter((d) => d.data[3] === TypeCode.record && d.data[4] === Flag.history);
    expect(answers).toHaveLength(4); // one member answered, the other stayed quiet
  });
});
