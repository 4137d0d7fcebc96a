import { afterEach, describe, expect, test } from "bun:test";
import { TypeCode } from "../../../src/protocol/constants.ts";
import { decode, encode } from "../../../src/protocol/index.ts";
import type { SessionEvent } from "../../../src/session/events.ts";
import { HELLO_ANSWERS } from "../../../src/session/room/presence.ts";
import { createSession, type RoomSession } from "../../../src/session/session.ts";
import type { MemoryTransport } from "../../helpers/memory-net.ts";
import { MemoryHub } from "../../helpers/memory-net.ts";
import { microtasksOnly, mulberry32, VirtualClock } from "../../helpers/virtual-clock.ts";
import type { VirtualRoom } from "../../helpers/virtual-room.ts";

/**
 * virtualRoom(), running only promise jobs between timers (a room of 200 is 10,000 datagrams a
 * second), where only PRESENCE frames are delivered: this is about presence, and the rest
 * (reports, NACKs: other parts of the issue) would only slow the simulation.
 */
function virtualRoom(): VirtualRoom {
  const vc = new VirtualClock(1000, microtasksOnly);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  hub.drop = (_to, d) => d.data[3] !== TypeCode.presence;
  return { vc, hub, n: 0 };
}

/**
 * Presence at scale on the real Session (virtual clock): the ambient heartbeat interval grows
 * with the room (N̂/50 s), each member's timeout follows its declared interval, an older member
 * (no INTERVAL) keeps everyone at the configured interval, a HELLO gets O(1) answers.
 */

const sessions: RoomSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

/**
 * A member on `r` with a 1 s configured heartbeat; `older`: its PRESENCE frames lose the
 * INTERVAL option on the way out (what mcchat 0.3/0.4 sends).
 */
function member(r: VirtualRoom, i: number, older = false) {
  const transport = r.hub.attach(`198.18.${i >> 8}.${i & 255}`);
  if (older) {
    const send = transport.send.bind(transport);
    transport.send = (data, channel) => {
      const f = decode(data);
      if (f.type === "presence") delete f.intervalMs;
      return send(f.type === "presence" ? encode(f) : data, channel);
    };
  }
  const s = createSession({
    transport,
    encoding: "utf8",
    raw: false,
    nick: `m${i}`,
    heartbeatMs: 1000,
    scheduler: r.vc,
    random: mulberry32(1000 + i),
  });
  const events: SessionEvent[] = [];
  s.on((e) => events.push(e));
  sessions.push(s);
  return { s, events, transport };
}

type Member = ReturnType<typeof member>;

/** `n` members started at random moments over `spreadMs`, then all of them hearing each other. */
async function room(r: VirtualRoom, n: number, spreadMs: number): Promise<Member[]> {
  const ms = Array.from({ length: n }, (_, i) => member(r, i + 1));
  const rnd = mulberry32(7);
  for (const m of ms) r.vc.at(r.vc.now() + rnd() * spreadMs, () => void m.s.start());
  const t0 = Date.now();
  await r.vc.run(spreadMs);
  if (process.env.H2_DEBUG)
    console.log(
      `spread ${spreadMs} ms virtual in ${Date.now() - t0} ms, ${r.hub.sent.length} sent`,
    );
  for (let t = 0; t < 30_000; t += 500) {
    if (ms.every((m) => m.s.members().length === n)) return ms;
    await r.vc.run(500);
    if (process.env.H2_DEBUG)
      console.log(`+500 virtual at ${Date.now() - t0} ms, ${r.hub.sent.length} sent`);
  }
  const sizes = ms.map((m) => m.s.members().length);
  const leaves = ms.map((m) => m.events.filter((e) => e.type === "leave").length);
  throw new Error(
    `the room never saw everyone: ${sizes.slice(0, 20)} leaves ${leaves.slice(0, 20)} ${JSON.stringify(ms[0]?.s.stats)}`,
  );
}

/** PRESENCE frames sent since `since` (by anyone but `not`), with when. */
function presenceSent(r: VirtualRoom, since: number, not?: MemoryTransport) {
  return r.hub.sent.filter(
    (d) =>
      (d.at ?? 0) >= since &&
      d.from !== not &&
      d.channel === "framed" &&
      d.data[4] !== undefined &&
      isPresence(d.data),
  );
}
const isPresence = (data: Uint8Array) => {
  try {
    return data[3] === TypeCode.presence && decode(data).type === "presence";
  } catch {
    return false;
  }
};

describe("presence in a room of 200 (virtual clock)", () => {
  test("heartbeats into one member stay at most ~50/s over 60 quiet seconds; nobody times out", async () => {
    const r = virtualRoom();
    const ms = await room(r, 200, 4000);
    await r.vc.run(10_000); // the quick phases after start are over
    const watched = ms[0] as Member;
    const from = r.vc.now();
    const leavesBefore = ms.reduce(
      (n, m) => n + m.events.filter((e) => e.type === "leave").length,
      0,
    );
    await r.vc.run(60_000);
    const heard = presenceSent(r, from, watched.transport);
    const perSecond = heard.length / 60;
    console.log(
      `200 members, 1 s configured: ${heard.length} heartbeats into one member in 60 s (${perSecond.toFixed(1)}/s); interval ${watched.s.stats.heartbeatIntervalMs} ms, N̂ ${watched.s.stats.roomSize}`,
    );
    expect(perSecond).toBeLessThanOrEqual(60);
    // In every 10 s window too (not only on average).
    for (let t = from; t < from + 60_000; t += 10_000) {
      const inWindow = heard.filter((d) => (d.at as number) >= t && (d.at as number) < t + 10_000);
      expect(inWindow.length / 10).toBeLessThanOrEqual(60);
    }
    expect(watched.s.stats.roomSize).toBe(200);
    expect(watched.s.stats.heartbeatIntervalMs).toBe(4000);
    // A 4 s interval is longer than 3 configured ones: only the declared interval keeps them.
    const leaves = ms.reduce((n, m) => n + m.events.filter((e) => e.type === "leave").length, 0);
    expect(leaves - leavesBefore).toBe(0);
    for (const m of ms) expect(m.s.members()).toHaveLength(200);

    // A newcomer's HELLO: about HELLO_ANSWERS answer it at once, not all 200.
    const late = member(r, 500);
    const helloAt = r.vc.now();
    await late.s.start();
    await r.vc.run(300);
    const quick = presenceSent(r, helloAt, late.transport).length;
    const ambient = (199 / 4) * 0.3; // heartbeats due anyway in those 300 ms
    console.log(
      `a HELLO in a room of 200: ${quick} heartbeats within 300 ms (~${ambient.toFixed(0)} ambient)`,
    );
    expect(quick).toBeLessThanOrEqual(ambient + 2 * HELLO_ANSWERS);
    // The others are heard at their next heartbeat; nobody is timed out meanwhile.
    expect(await r.vc.runUntilTrue(() => late.s.members().length === 201, 10_000)).toBe(true);
  }, 600_000); // 200 real Sessions: ~1 min on an idle 2-core machine
});

describe("presence with an older member (no INTERVAL)", () => {
  test("the interval stays at the configured value while one is present, and grows after", async () => {
    const r = virtualRoom();
    const ms = await room(r, 60, 1000);
    await r.vc.run(5000);
    // 60 members, 1 s configured: 60/50 s = 1.2 s.
    for (const m of ms) expect(m.s.stats.heartbeatIntervalMs).toBe(1200);
    const old = member(r, 300, true);
    await old.s.start();
    expect(await r.vc.runUntilTrue(() => ms.every((m) => m.s.members().length === 61), 5000)).toBe(
      true,
    );
    await r.vc.run(3000);
    for (const m of ms) expect(m.s.stats.heartbeatIntervalMs).toBe(1000);
    // Nobody is timed out by it: it hears everyone within its own 3 s.
    expect(old.events.filter((e) => e.type === "leave")).toHaveLength(0);
    await old.s.close();
    await r.vc.run(3000);
    for (const m of ms) expect(m.s.stats.heartbeatIntervalMs).toBe(1200);
  }, 60_000);
});
