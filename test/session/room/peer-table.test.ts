import { describe, expect, test } from "bun:test";
import type { SessionEvent } from "../../../src/session/events.ts";
import { UNPROVEN_TAIL_SPAN } from "../../../src/session/receiving/inbound-stream.ts";
import type { Peer } from "../../../src/session/room/peer.ts";
import {
  ADMIT_FREELY,
  ADMIT_PER_S,
  MAX_PEERS,
  MAX_REFUSED_COUNTED,
  PeerTable,
  PRESENT_AT_JOIN_MAX_MS,
} from "../../../src/session/room/peer-table.ts";

function table() {
  let t = 0;
  const events: SessionEvent[] = [];
  const peers = new PeerTable(
    { now: () => t, random: () => 0.5, joinedAt: 0, reads: () => true, readsStream: () => true },
    6000,
    (e) => events.push(e),
    () => new Date(0),
  );
  return {
    peers,
    events,
    advance: (ms: number) => {
      t += ms;
    },
  };
}
const id = (i: number) => i.toString(16).padStart(16, "0");

describe("PeerTable on a hostile LAN", () => {
  test("an instance speaks only from where it was first heard", () => {
    const { peers } = table();
    const p = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(p, "alice");
    expect(peers.heard(id(1), "198.18.0.9:4000")).toBe("spoofed");
    expect(peers.heard(id(1), "198.18.0.1:4001")).toBe("spoofed");
    expect(peers.heard(id(1), "198.18.0.1:4000")).toBe(p);
    expect(peers.memberAt("198.18.0.1:4000")).toBe(p);
    expect(peers.memberAt("198.18.0.9:4000")).toBeUndefined();
  });

  test(`at most ${MAX_PEERS} instances: unannounced and departed ones make room, members never`, () => {
    const { peers, advance } = table();
    for (let i = 0; i < MAX_PEERS; i++) {
      advance(1000 / ADMIT_PER_S); // as fast as new members are taken in
      const p = peers.heard(id(i), `10.0.0.1:${i}`) as Peer;
      peers.announce(p, `n${i}`);
    }
    expect(peers.size).toBe(MAX_PEERS);
    expect(peers.heard(id(5000), "10.0.0.2:1")).toBe("full");
    // One member leaves: after the retry pause, a newcomer takes its place.
    peers.leave(peers.get(id(7)) as Peer, "bye");
    advance(200);
    const newcomer = peers.heard(id(5001), "10.0.0.2:2");
    expect(typeof newcomer).toBe("object");
    expect(peers.get(id(7))).toBeUndefined();
    expect(peers.size).toBe(MAX_PEERS);
    // Every other member is still there.
    for (let i = 0; i < MAX_PEERS; i++) if (i !== 7) expect(peers.get(id(i))).toBeDefined();
  });

  test("a sender with no message yet cannot make us hold a huge gap from its announced tail", () => {
    const { peers } = table();
    const p = peers.heard(id(1), "10.0.0.1:1") as Peer;
    peers.announce(p, "phantom");
    // Started after we joined (age 0): every seq from 0 is owed; it claims tail 2^31 - 1.
    p.onPresence(0, [{ stream: 0, tail: 0x7fffffff, runs: [] }]);
    expect(p.missing).toBe(UNPROVEN_TAIL_SPAN);
    for (let i = 0; i < 100; i++) {
      p.onPresence(0, [{ stream: 0, tail: 0x7ffffffe, runs: [] }]); // repeating it does not add up
    }
    expect(p.missing).toBe(UNPROVEN_TAIL_SPAN);
  });
});

describe("PeerTable: when each member took its nick (nickSince)", () => {
  test("members there when we joined date from our join; later ones and renames from when heard", () => {
    const { peers, advance } = table();
    advance(300); // answers to our HELLO
    const anna = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(anna, "anna");
    advance(60_000);
    const andy = peers.heard(id(2), "198.18.0.2:4000") as Peer;
    peers.announce(andy, "andy");
    advance(5000);
    peers.announce(andy, "anna");
    const since = Object.fromEntries(peers.present().map((m) => [m.id, m.nickSince]));
    expect(since).toEqual({ [id(1)]: -1, [id(2)]: 65_300 });
  });

  test("a newcomer cannot date its nick before a present member's (no stated age is believed)", () => {
    const { peers, advance } = table();
    advance(300);
    const anna = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(anna, "anna");
    advance(30_000);
    // A made-up member that says it has been here for years: heard now, so dated now.
    const mallory = peers.heard(id(2), "198.18.0.9:4000") as Peer;
    peers.announce(mallory, "anna");
    expect(mallory.nickSince).toBe(30_300);
    expect(mallory.nickSince as number).toBeGreaterThan(anna.nickSince as number);
  });

  test("a member back after a timeout under the same nick keeps its date", () => {
    const { peers, advance } = table();
    advance(300);
    const anna = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(anna, "anna");
    advance(20_000);
    peers.leave(anna, "timeout"); // a frozen laptop
    anna.gone = false; // back again (presence.ts)
    peers.announce(anna, "anna");
    expect(anna.nickSince).toBe(-1);
  });

  test("a member saying HELLO soon after our join is joining, not there before us", () => {
    const { peers, advance } = table();
    advance(300);
    const andy = peers.heard(id(2), "198.18.0.2:4000") as Peer;
    peers.announce(andy, "anna", true);
    expect(andy.nickSince).toBe(300);
  });
});

describe("PeerTable: the room size estimate (N̂) and each member's timeout", () => {
  test("presentCount is kept on join, rename, leave and forget (no scan), ourselves +1 in N̂", () => {
    const { peers, advance } = table();
    const scan = () => [...peers.values()].filter((p) => p.present).length;
    const ps = Array.from({ length: 50 }, (_, i) => peers.heard(id(i), `10.0.0.1:${i}`) as Peer);
    for (const p of ps) peers.announce(p, "x");
    for (const p of ps.slice(0, 10)) peers.announce(p, "renamed"); // a nick change: no join
    peers.announce(ps[0] as Peer, "renamed"); // and a repeat
    expect(peers.presentCount()).toBe(50);
    for (const p of ps.slice(0, 20)) peers.leave(p, p.id < id(10) ? "bye" : "timeout");
    peers.leave(ps[0] as Peer, "bye"); // twice: once
    expect(peers.presentCount()).toBe(30);
    advance(60_000);
    peers.forgetDeparted(60_000);
    expect(peers.size).toBe(30);
    expect(peers.presentCount()).toBe(scan());
    expect(peers.roomSize()).toBe(31);
  });

  test(`past ${MAX_PEERS}: refused members count in N̂ (bounded), expire, and are warned of once`, () => {
    const { peers, events, advance } = table();
    for (let i = 0; i < MAX_PEERS; i++) {
      advance(1000 / ADMIT_PER_S);
      peers.announce(peers.heard(id(i), `10.0.0.1:${i}`) as Peer, "m");
    }
    expect(peers.roomSize()).toBe(MAX_PEERS + 1);
    for (let i = 0; i < 100; i++) {
      for (let k = 0; k < 3; k++)
        expect(peers.heard(id(100_000 + i), `10.0.1.1:${i}`)).toBe("full");
    }
    expect(peers.roomSize()).toBe(MAX_PEERS + 101);
    const warnings = events.filter((e) => e.type === "warning");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type === "warning" && warnings[0].text).toMatch(
      /^more than 4096 members in the room: members past that are not taken in here/,
    );
    // A flood of made-up ids: counted up to MAX_REFUSED_COUNTED, no more kept.
    for (let i = 0; i < 3 * MAX_REFUSED_COUNTED; i++) peers.heard(id(200_000 + i), "10.0.2.1:1");
    expect(peers.roomSize()).toBe(MAX_PEERS + 1 + MAX_REFUSED_COUNTED);
    // Not heard again: gone from N̂ after the timeout of a room that size (3 × ~164 s).
    advance(3 * 165_000);
    expect(peers.roomSize()).toBe(MAX_PEERS + 1);
    expect(events.filter((e) => e.type === "warning")).toHaveLength(1);
  });

  test(`past ${ADMIT_FREELY} instances, at most ${ADMIT_PER_S} new ones a second: the rest are counted in N̂, unwarned, and taken in when heard again`, () => {
    const { peers, events, advance } = table();
    for (let i = 0; i < ADMIT_FREELY; i++) {
      peers.announce(peers.heard(id(i), `10.0.0.1:${i}`) as Peer, "m"); // all at once: freely
    }
    expect(peers.size).toBe(ADMIT_FREELY);
    // A burst of 1,000 new ids at one instant (a flood, or a very fast crowd).
    const burst = Array.from({ length: 1000 }, (_, i) => id(10_000 + i));
    const taken = burst.filter((b, i) => {
      const p = peers.heard(b, `10.0.1.1:${i}`);
      if (typeof p === "object") peers.announce(p, "m");
      return typeof p === "object";
    });
    expect(taken).toHaveLength(ADMIT_PER_S);
    expect(peers.size).toBe(ADMIT_FREELY + ADMIT_PER_S);
    expect(peers.roomSize()).toBe(ADMIT_FREELY + 1000 + 1); // the others are counted
    expect(events.filter((e) => e.type === "warning")).toEqual([]); // not past the cap
    // The others, heard again as time goes on (their heartbeats), are taken in at that rate.
    const later = burst.slice(ADMIT_PER_S);
    for (const [i, b] of later.entries()) {
      advance(1000 / ADMIT_PER_S);
      expect(typeof peers.heard(b, `10.0.1.1:${ADMIT_PER_S + i}`)).toBe("object");
    }
    expect(peers.size).toBe(ADMIT_FREELY + 1000);
  });

  test("a member is timed out after 3 of ITS declared intervals; an older one after ours", () => {
    const { peers, advance } = table(); // our timeout: 6000 (3 × 2 s)
    const old = peers.heard(id(1), "10.0.0.1:1") as Peer;
    const big = peers.heard(id(2), "10.0.0.1:2") as Peer;
    peers.declareInterval(big, 20_000);
    peers.announce(old, "old");
    peers.announce(big, "big");
    expect(peers.nextTimeout()).toBe(6001);
    advance(6001);
    expect([...peers.timedOut(6001)]).toEqual([old]);
    peers.leave(old, "timeout");
    expect(peers.nextTimeout()).toBe(60_001);
    advance(50_000);
    expect([...peers.timedOut(56_001)]).toEqual([]);
    expect([...peers.timedOut(60_001)]).toEqual([big]);
    // Bounded: a declared hour is taken as 10 minutes.
    peers.declareInterval(big, 3_600_000);
    expect(peers.timeoutOf(big)).toBe(1_800_000);
  });

  test("our interval may scale only while every present member declared one", () => {
    const { peers } = table();
    const a = peers.heard(id(1), "10.0.0.1:1") as Peer;
    const b = peers.heard(id(2), "10.0.0.1:2") as Peer;
    peers.declareInterval(a, 2000);
    peers.announce(a, "a");
    expect(peers.allDeclareInterval()).toBe(true);
    peers.announce(b, "b"); // an older member: no INTERVAL
    expect(peers.allDeclareInterval()).toBe(false);
    peers.declareInterval(b, 2000); // (a newer one that had not said it yet)
    expect(peers.allDeclareInterval()).toBe(true);
    const c = peers.heard(id(3), "10.0.0.1:3") as Peer;
    peers.announce(c, "c");
    expect(peers.allDeclareInterval()).toBe(false);
    peers.leave(c, "bye");
    expect(peers.allDeclareInterval()).toBe(true);
  });

  test("a member with a long interval, first heard at its next heartbeat, was there before us", () => {
    const { peers, advance } = table();
    advance(15_000); // it did not answer our HELLO (a big room): heard 15 s after our join
    const anna = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.declareInterval(anna, 20_000);
    peers.announce(anna, "anna");
    expect(anna.nickSince).toBe(-1);
    // Without a declared interval, 15 s is too late: it took its nick when heard.
    const bob = peers.heard(id(2), "198.18.0.2:4000") as Peer;
    peers.announce(bob, "bob");
    expect(bob.nickSince).toBe(15_000);
    // A made-up interval does not reach further back than a room at the cap would.
    advance(PRESENT_AT_JOIN_MAX_MS);
    const mallory = peers.heard(id(3), "198.18.0.3:4000") as Peer;
    peers.declareInterval(mallory, 600_000);
    peers.announce(mallory, "anna");
    expect(mallory.nickSince).toBe(15_000 + PRESENT_AT_JOIN_MAX_MS);
  });
});
