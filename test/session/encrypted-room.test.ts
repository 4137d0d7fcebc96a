/**
 * Encrypted rooms on the real Session over the in-memory hub (virtual clock): members with the
 * room key talk; an outsider (another key) shows nothing and is warned once; nothing on the
 * wire carries a nick or a text in the clear; a replayed or damaged datagram is never shown
 * again; presence, repairs and history work inside the room at 20% loss.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sealTransport } from "../../src/net/sealed-transport.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

interface Member {
  s: RoomSession;
  t: MemoryTransport;
  events: SessionEvent[];
}

/** `jitter`: each datagram's latency random in 0.3-1.3 ms (reorders), else a fixed 0.5 ms. */
function room(seed = 1, jitter = true) {
  const vc = new VirtualClock(1000);
  const rng = mulberry32(seed);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => (jitter ? 0.3 + rng() : 0.5) });
  const members: Member[] = [];
  let n = 0;
  const member = (
    nick: string,
    key: Uint8Array | undefined,
    extra: { listen?: boolean; history?: number; legacy?: boolean } = {},
  ): Member => {
    const t = hub.attach(`198.18.0.${++n}`);
    const transport = key
      ? sealTransport(t, {
          roomKey: key,
          scheduler: vc,
          random: (n) => Uint8Array.from({ length: n }, () => Math.floor(rng() * 256)),
        })
      : t;
    const s = createSession({
      transport,
      encoding: "utf8",
      raw: false,
      nick,
      scheduler: vc,
      random: rng,
      heartbeatMs: 500,
      ...extra,
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    const m = { s, t, events };
    members.push(m);
    return m;
  };
  return { vc, hub, member, members, rng };
}

/** bob (--listen) starts first, then alice; both have met (300 ms). */
async function listenerThenSender(r: ReturnType<typeof room>, key: Uint8Array) {
  const bob = r.member("bob", key, { listen: true });
  await bob.s.start();
  const alice = r.member("alice", key);
  await alice.s.start();
  await r.vc.run(300);
  return { bob, alice };
}

const texts = (m: Member) =>
  m.events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));
/** Messages shown as history (flagged), in order. */
const historyTexts = (m: Member) =>
  m.events.flatMap((e) => (e.type === "message" && e.history ? [e.text] : []));
/** The nicks `m` lists as present, sorted. */
const nicks = (m: Member) =>
  m.s
    .members()
    .map((x) => x.nick)
    .sort();
const warnings = (m: Member) => m.events.flatMap((e) => (e.type === "warning" ? [e.text] : []));
const contains = (hay: Uint8Array, needle: string) =>
  Buffer.from(hay).includes(Buffer.from(needle, "utf8"));

describe("encrypted room on the real Session", () => {
  test("members with the key talk; an outsider sees nothing, is warned once; no plaintext on the wire", async () => {
    const r = room();
    const key = randomBytes(32);
    const alice = r.member("alice", key);
    const bob = r.member("bob", key);
    const eve = r.member("eve", randomBytes(32), { listen: true });
    const open = r.member("mallory", undefined, { listen: true });
    for (const m of r.members) await m.s.start();
    await r.vc.run(300);
    await alice.s.send("the secret plan");
    await bob.s.send("agreed, 大家好");
    await r.vc.run(1000);
    expect(texts(bob)).toEqual(["the secret plan"]);
    expect(texts(alice)).toEqual(["agreed, 大家好"]);
    expect(nicks(alice)).toEqual(["alice", "bob"]);
    expect(alice.s.encrypted).toBe(true);
    // The outsider and the open member see nothing: no join, no text.
    for (const m of [eve, open]) {
      expect(texts(m)).toEqual([]);
      expect(m.events.some((e) => e.type === "join" && e.nick !== "eve")).toBe(false);
    }
    expect(warnings(open)).toEqual([
      "an encrypted room (passphrase) is using this group/port: its messages cannot be shown here",
    ]);
    // eve (another key) is told her passphrase looks wrong, once; the members name her source.
    expect(warnings(eve).filter((w) => w.includes("opens with your passphrase"))).toHaveLength(1);
    expect(eve.s.stats.undecryptable).toBeGreaterThan(3);
    for (const m of [alice, bob]) {
      expect(warnings(m)).toEqual([
        "someone here uses another passphrase: sealed datagrams from 198.18.0.3:40002 do not open with ours (or another encrypted room shares this group/port)",
      ]);
    }
    // Nothing the key holders sent carries a nick or a text in the clear.
    const fromKeyHolders = r.hub.sent.filter((d) => d.from === alice.t || d.from === bob.t);
    expect(fromKeyHolders.length).toBeGreaterThan(10);
    for (const d of fromKeyHolders) {
      for (const word of ["alice", "bob", "secret plan", "agreed", "大家好"]) {
        expect(contains(d.data, word)).toBe(false);
      }
      expect(d.channel).toBe("framed"); // never bridged as plaintext
    }
  });

  test("a replayed datagram (same run) and one with a flipped bit are never shown", async () => {
    const r = room(2);
    const key = randomBytes(32);
    const alice = r.member("alice", key);
    const bob = r.member("bob", key, { listen: true });
    for (const m of r.members) await m.s.start();
    await r.vc.run(300);
    const before = r.hub.sent.length;
    await alice.s.send("only once");
    await r.vc.run(500);
    expect(texts(bob)).toEqual(["only once"]);
    const captured = r.hub.sent.slice(before).filter((d) => d.from === alice.t);
    const attacker = r.hub.attach("198.18.0.66");
    for (const d of captured) await attacker.send(d.data); // replayed from elsewhere
    for (const d of captured) r.hub.deliver(alice.t, d.data); // and "from alice" herself
    await r.vc.run(1000);
    expect(texts(bob)).toEqual(["only once"]);
    expect(bob.s.stats.replayed).toBeGreaterThanOrEqual(captured.length * 2);

    // A datagram bob has not had yet, with one bit flipped, arrives first: not shown; the
    // real one (repaired) is shown once.
    let hold = true;
    const held: Uint8Array[] = [];
    r.hub.drop = (to, d) => {
      if (!hold || to !== bob.t || d.port !== alice.t.port) return false;
      held.push(d.data);
      return true;
    };
    await alice.s.send("second");
    await r.vc.run(5);
    hold = false;
    expect(held.length).toBeGreaterThan(0);
    for (const data of held) {
      for (const at of [5, 20, 30, data.length - 1]) {
        const bad = Uint8Array.from(data);
        bad[at] = (bad[at] as number) ^ 0x01;
        r.hub.deliver(attacker, bad);
      }
    }
    await r.vc.run(2000);
    expect(texts(bob)).toEqual(["only once", "second"]);
    expect(bob.s.stats.undecryptable).toBeGreaterThanOrEqual(held.length * 4);
  });

  test("a datagram replayed after the sender restarted is not shown", async () => {
    const r = room(3);
    const key = randomBytes(32);
    const { bob, alice } = await listenerThenSender(r, key);
    const before = r.hub.sent.length;
    await alice.s.send("from the first run");
    await r.vc.run(500);
    const captured = r.hub.sent.slice(before).filter((d) => d.from === alice.t);
    await alice.s.close();
    await r.vc.run(500);
    // alice runs again (a new process: new instance, new key salt), then the old datagrams
    // come back.
    const alice2 = r.member("alice", key);
    await alice2.s.start();
    await r.vc.run(300);
    await alice2.s.send("from the second run");
    await r.vc.run(500);
    for (const d of captured) r.hub.deliver(alice2.t, d.data);
    await r.vc.run(1000);
    expect(texts(bob)).toEqual(["from the first run", "from the second run"]);
  });

  test("presence, repairs and history work inside the room at 20% loss", async () => {
    // No reordering: history is shown in the order the answer listed it (PROTOCOL.md §4).
    const r = room(4, false);
    const key = randomBytes(32);
    const alice = r.member("alice", key);
    const bob = r.member("bob", key, { listen: true });
    const lossy = new Set([bob.t]);
    r.hub.drop = (to) => lossy.has(to as MemoryTransport) && r.rng() < 0.2;
    for (const m of r.members) await m.s.start();
    await r.vc.run(300);
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i}`);
    for (const l of lines) await alice.s.send(l);
    await r.vc.runUntilTrue(() => texts(bob).length >= 300, 30_000);
    expect(texts(bob)).toEqual(lines);
    expect(bob.s.stats.nacksSent).toBeGreaterThan(0);
    expect(alice.s.stats.repairsSent).toBeGreaterThan(0);
    // A late joiner with the key gets the last 5 as history, once.
    const carol = r.member("carol", key, { listen: true, history: 5 });
    lossy.add(carol.t);
    r.hub.drop = () => false; // history answers are not repaired: no loss for this part
    await carol.s.start();
    await r.vc.run(2000);
    expect(historyTexts(carol)).toEqual(lines.slice(-5));
    expect(nicks(carol)).toEqual(["alice", "bob", "carol"]);
  });

  test("history survives its sender: another member re-sends its messages (their ids) sealed", async () => {
    const r = room(5, false);
    const key = randomBytes(32);
    const { alice } = await listenerThenSender(r, key);
    for (const l of ["one", "two", "three"]) await alice.s.send(l);
    await r.vc.run(500);
    await alice.s.close();
    await r.vc.run(500);
    const carol = r.member("carol", key, { listen: true, history: 3 });
    await carol.s.start();
    await r.vc.run(2000);
    expect(historyTexts(carol)).toEqual(["one", "two", "three"]);
    expect(carol.s.stats.undecryptable).toBe(0);
  });
});
