/**
 * What a shared loss costs in NACKs as the room grows (issue 17, "NACKs"): one chat line's
 * datagram is dropped for every member but its sender, in rooms of 3, 20 and 100 real Sessions
 * on a virtual clock, datagrams taking 0.5-2 ms. The receivers find the gap together (the
 * sender's heartbeat tail), and their NACK back-off (backoff.ts: none up to 4 members,
 * then NORM's truncated exponential with λ = ln(N̂)+1) lets the first NACK heard suppress the
 * rest. Every NACK frame and repair that went over the hub is counted and printed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { decode, isFramed } from "../../src/protocol/index.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const LINE = "the line everyone missed";
const sessions: RoomSession[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

/** Lines lost by every receiver, one after the other, in each room. */
const LOSSES = 10;

interface Cost {
  members: number;
  /** NACK frames each loss cost. */
  nacks: number[];
  /** Repairs over all the losses. */
  repairs: number;
  /** Virtual ms from each send until every member had the line. */
  repairedInMs: number[];
  /** Real seconds the whole run took. */
  tookS: number;
}

/**
 * A room of `members` Sessions, one of which sends LOSSES lines (a second apart) that all the
 * others miss.
 */
async function sharedLoss(members: number, seed: number): Promise<Cost> {
  const started = performance.now();
  const vc = new VirtualClock(1000);
  const rng = mulberry32(seed);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 + 1.5 * rng() });
  const room: { s: RoomSession; t: MemoryTransport; events: SessionEvent[]; joins: number }[] = [];
  for (let i = 0; i < members; i++) {
    const t = hub.attach(`198.18.${i >> 8}.${(i & 0xff) + 1}`);
    const s = createSession({
      transport: t,
      encoding: "utf8",
      raw: false,
      nick: `m${i}`,
      scheduler: vc,
      random: mulberry32(seed * 10_000 + i),
    });
    sessions.push(s);
    const m = { s, t, events: [] as SessionEvent[], joins: 0 };
    s.on((e) => {
      m.events.push(e);
      if (e.type === "join") m.joins++;
    });
    room.push(m);
    await s.start();
    await vc.run(5); // staggered joins, as a real room fills
  }
  let everyone = 0; // members that have seen all the others join (conditions are checked often)
  const allJoined = () => {
    while (everyone < members && (room[everyone]?.joins ?? 0) >= members - 1) everyone++;
    return everyone === members;
  };
  if (!(await vc.runUntilTrue(allJoined, 20_000))) {
    throw new Error("the room never saw every member");
  }
  await vc.run(3000); // the joins' heartbeat answers settle

  const sender = room[0] as (typeof room)[number];
  const others = room.slice(1);
  /** Lines whose live datagram every receiver misses. */
  const doomed = new Set<number>();
  hub.drop = (_to, d) => {
    if (d.port !== sender.t.port || !isFramed(d.data)) return false;
    const f = decode(d.data);
    return f.type === "record" && !f.repair && f.stream === 0 && doomed.has(f.seq);
  };
  const cost: Cost = { members, nacks: [], repairs: 0, repairedInMs: [], tookS: 0 };
  for (let k = 0; k < LOSSES; k++) {
    const line = `${LINE} #${k}`;
    doomed.add(k); // one-fragment lines: line k is seq k of the sender's stream
    const from = hub.sent.length;
    const sentAt = vc.now();
    await sender.s.send(line);
    const got = (m: (typeof room)[number]) =>
      m.events.some((e) => e.type === "message" && e.text === line);
    let have = 0;
    const allGot = () => {
      while (have < others.length && got(others[have] as (typeof room)[number])) have++;
      return have === others.length;
    };
    if (!(await vc.runUntilTrue(allGot, 10_000))) {
      throw new Error(`${others.filter((m) => !got(m)).length} members never got ${line}`);
    }
    cost.repairedInMs.push(vc.now() - sentAt);
    await vc.run(1000); // late NACKs, if any, are counted too
    let nacks = 0;
    for (const d of hub.sent.slice(from)) {
      if (d.channel !== "framed" || !isFramed(d.data)) continue;
      const f = decode(d.data);
      if (f.type === "stream_nack" && f.target === sender.s.id) nacks++;
      if (f.type === "record" && f.repair) cost.repairs++;
    }
    cost.nacks.push(nacks);
  }
  for (const m of others) {
    // every line exactly once, none reported lost
    for (let k = 0; k < LOSSES; k++) {
      const line = `${LINE} #${k}`;
      expect(m.events.filter((e) => e.type === "message" && e.text === line).length).toBe(1);
    }
    expect(m.events.some((e) => e.type === "lost")).toBe(false);
  }
  for (const s of sessions.splice(0)) await s.close();
  cost.tookS = (performance.now() - started) / 1000;
  return cost;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const show = (c: Cost) =>
  `${String(c.members).padStart(3)} members: NACK frames per loss ${c.nacks.join(" ")} ` +
  `(mean ${mean(c.nacks).toFixed(1)}, max ${Math.max(...c.nacks)}), ${c.repairs} repairs for ` +
  `${c.nacks.length} losses, all had each line within ${Math.max(...c.repairedInMs).toFixed(0)} ms ` +
  `(run took ${c.tookS.toFixed(1)} s)`;

describe("a shared loss costs a few NACKs at any room size", () => {
  test("3, 20 and 100 members: every member gets every line; at most 5 NACKs a loss at 100", async () => {
    const rows: Cost[] = [];
    for (const members of [3, 20, 100]) rows.push(await sharedLoss(members, members));
    console.log(`${LOSSES} lines, each lost by every receiver:\n  ${rows.map(show).join("\n  ")}`);
    const [small, mid, big] = rows as [Cost, Cost, Cost];
    // a room of 3 has no back-off: both receivers NACK at once, one repair answers both
    expect(Math.max(...small.nacks)).toBeLessThanOrEqual(2);
    expect(Math.max(...mid.nacks)).toBeLessThanOrEqual(5);
    expect(Math.max(...big.nacks)).toBeLessThanOrEqual(5);
    // NORM's back-off: about one NACK and a half per loss, nearly flat as the room grows (a
    // uniform 10-60 ms back-off gave 3.3 a loss at 100 members, up to 5)
    expect(mean(mid.nacks)).toBeLessThanOrEqual(2);
    expect(mean(big.nacks)).toBeLessThanOrEqual(2);
    // one repair a loss, however many asked
    for (const c of rows) expect(c.repairs).toBe(LOSSES);
    // no slower than a uniform back-off: each line everywhere within ~0.2 s
    for (const c of rows) expect(Math.max(...c.repairedInMs)).toBeLessThan(250);
  }, 600_000);
});
