/**
 * Values the wire sets, bounded before use, on the real Session (virtual clock, in-memory hub):
 * a REPORT from an instance that never announced itself does not enter flow control; a tail
 * may not claim more than MAX_TAIL_LEAD seqs beyond what we have; REPORTs keep reaching every
 * sender however many there are (not only the first 32).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { decode, encode, type Frame } from "../../src/protocol/index.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { MAX_TAIL_LEAD } from "../../src/session/receiving/inbound-stream.ts";
import { createSession, type RoomSession, type SessionOptions } from "../../src/session/session.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { asOlderMember } from "../helpers/older-member.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

const sessions: RoomSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

function setup() {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  let n = 0;
  const member = (nick: string, extra: Partial<SessionOptions> = {}, older = false) => {
    n++;
    const t = hub.attach(`198.18.${n >> 8}.${(n & 255) + 1}`);
    const s = createSession({
      transport: older ? asOlderMember(t) : t,
      encoding: "utf8",
      raw: false,
      nick,
      scheduler: vc,
      heartbeatMs: 500,
      ...extra,
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    sessions.push(s);
    return { s, t, events };
  };
  const evil = hub.attach("198.18.0.66");
  const sendEvil = (f: Frame) => evil.send(encode(f));
  const until = async (cond: () => boolean, ms: number) => {
    if (!(await vc.runUntilTrue(cond, ms))) throw new Error("condition not met in time");
  };
  return { vc, hub, member, evil, sendEvil, until };
}

const warnings = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "warning" ? [e.text] : []));

describe("a REPORT from an instance that never announced itself", () => {
  test("does not hold the window, is not waited for, and is not warned about", async () => {
    const { vc, member, sendEvil } = setup();
    const alice = member("alice", { window: { fragments: 8 } });
    await alice.s.start();
    await vc.run(100);
    const ghost = "ee00000000000001";
    // Reports "next 0" for alice's conversation, again and again, and never says hello.
    const report = () =>
      sendEvil({
        type: "stream_report",
        id: ghost,
        seq: 0,
        entries: [{ target: alice.s.id, stream: 0, next: 0 }],
      });
    await report();
    await vc.run(10);
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 50; i++) {
        await alice.s.send(`line ${i}`);
        sent++;
        await report();
      }
    })();
    await vc.runUntilTrue(() => sent === 50, 20_000);
    await sending;
    expect(sent).toBe(50);
    expect(alice.s.stats.flowWaits).toBe(0);
    expect(alice.s.stats.reportsIgnored).toBeGreaterThan(0);
    await vc.run(10_000);
    expect(warnings(alice.events).filter((w) => w.includes("keeping up"))).toEqual([]);
    // The drain of a pipe does not wait for it either.
    expect(await alice.s.drain(5000)).toEqual({ behind: [] });
  });
});

describe("a tail that jumps far ahead", () => {
  /** Seqs bob NACKed of `target`'s stream 0 in each NACK frame he sent since `from`. */
  const nacked = (hub: MemoryHub, from: number, by: MemoryTransport, target: string) =>
    hub.sent
      .slice(from)
      .filter((d) => d.from === by)
      .map((d) => decode(d.data))
      .flatMap((f) =>
        f.type === "stream_nack" && f.target === target
          ? [f.ranges.reduce((a, r) => a + r.count, 0)]
          : [],
      );

  test(`is acted on at most ${MAX_TAIL_LEAD} seqs beyond what we have`, async () => {
    const { vc, hub, member, until } = setup();
    const bob = member("bob");
    const mallory = member("mallory");
    await bob.s.start();
    await mallory.s.start();
    // A proven sender: bob has its records.
    for (let i = 0; i < 3; i++) await mallory.s.send(`line ${i}`);
    const got = () => bob.events.filter((e) => e.type === "message").length;
    await until(() => got() === 3, 2000);
    await vc.run(3000);
    const before = hub.sent.length;
    // From mallory's own socket: a heartbeat whose tail jumped by 2^31 - 1.
    const jump: Frame = {
      type: "presence",
      id: mallory.s.id,
      seq: 1_000_000,
      phase: "heartbeat",
      nick: "mallory",
      age: 10_000,
      streams: [{ stream: 0, tail: 0x7fffffff, runs: [] }],
      kinds: [1],
    };
    await mallory.t.send(encode(jump));
    await mallory.s.close(); // nobody answers the NACKs: everything asked ends up lost
    await vc.run(15_000);
    const lost = bob.events.flatMap((e) => (e.type === "lost" ? [e.count] : []));
    const totalLost = lost.reduce((a, b) => a + b, 0);
    const asks = nacked(hub, before, bob.t, mallory.s.id);
    console.log(
      `tail jump of 2^31: bob declared ${totalLost} seqs lost; largest NACK ${Math.max(0, ...asks)} seqs`,
    );
    expect(totalLost).toBeLessThanOrEqual(MAX_TAIL_LEAD);
    expect(Math.max(0, ...asks)).toBeLessThanOrEqual(MAX_TAIL_LEAD);
    expect(asks.length).toBeGreaterThan(0); // what it did act on was asked for
  });

  test("an honest sender whose records we missed is still repaired in full, past the lead", async () => {
    const { vc, hub, member, until } = setup();
    const bob = member("bob", { listen: true, heartbeatMs: 2000 });
    const alice = member("alice", { heartbeatMs: 2000 });
    await bob.s.start();
    await alice.s.start();
    await vc.run(500);
    // bob is cut off for 8 s (longer than the 6 s timeout and stall time): alice waits for him,
    // stops waiting, and sends on; when he is back her idle stream's tail is far ahead.
    let cut = true;
    hub.drop = (to, d) => cut && (to === bob.t || d.port === bob.t.port);
    const N = MAX_TAIL_LEAD + 1500;
    const sending = (async () => {
      for (let i = 0; i < N; i++) await alice.s.send(`m${i}`);
    })();
    await vc.run(8000);
    await sending;
    cut = false;
    const texts = () =>
      bob.events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));
    await until(() => texts().length === N, 60_000);
    expect(texts()).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    expect(bob.events.some((e) => e.type === "lost")).toBe(false);
  }, 30_000);
});

describe("REPORTs with more senders than one REPORT holds", () => {
  test("40 senders: the ones after the 32nd still hear reports while the first 32 keep talking", async () => {
    const { vc, hub, member } = setup();
    // (heartbeats every 500 ms: the stall time is 1.5 s)
    const bob = member("bob", { listen: true });
    await bob.s.start();
    // Senders of mcchat 0.4: a room of 41 reports by questions to senders of this revision
    // (PROTOCOL.md §13), but to older ones on every progress, as here.
    const busy = Array.from({ length: 32 }, (_, i) => member(`busy${i}`, {}, true));
    const quiet = Array.from({ length: 8 }, (_, i) => member(`quiet${i}`, {}, true));
    for (const m of [...busy, ...quiet]) {
      await m.s.start();
      await vc.run(10); // bob hears them in this order
    }
    await vc.run(1000);
    const before = hub.sent.length;
    // The first 32 talk every 10 ms for 2.5 s; the other 8 say one line each, early on.
    for (let r = 0; r < 250; r++) {
      await Promise.all(busy.map((m) => m.s.send(`r${r}`)));
      if (r === 5) await Promise.all(quiet.map((m) => m.s.send("hello")));
      await vc.run(10);
    }
    /** The newest `next` bob reported to each sender. */
    const next = new Map<string, number>();
    for (const d of hub.sent.slice(before)) {
      if (d.from !== bob.t) continue;
      const f = decode(d.data);
      if (f.type !== "stream_report") continue;
      for (const e of f.entries) next.set(e.target, e.next);
    }
    const unheard = quiet.filter((m) => next.get(m.s.id) !== 1).map((m) => m.s.nick);
    console.log(`the 8 senders after the 32nd: ${8 - unheard.length} heard bob's report`);
    expect(unheard).toEqual([]);
    expect(busy.every((m) => next.get(m.s.id) !== undefined)).toBe(true);
    const flowWarnings = quiet.flatMap((m) =>
      warnings(m.events).filter((w) => /keeping up|caught up/.test(w)),
    );
    expect(flowWarnings).toEqual([]);
  }, 60_000);
});
