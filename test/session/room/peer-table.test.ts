import { describe, expect, test } from "bun:test";
import type { SessionEvent } from "../../../src/session/events.ts";
import { UNPROVEN_TAIL_SPAN } from "../../../src/session/receiving/inbound-stream.ts";
import type { Peer } from "../../../src/session/room/peer.ts";
import { MAX_PEERS, PeerTable } from "../../../src/session/room/peer-table.ts";

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
  test("a joining member dates its nick from its start (its age); a rename from when heard", () => {
    const { peers, advance } = table();
    advance(60_000);
    const anna = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(anna, "anna", 50_000); // in the room 50 s already
    const andy = peers.heard(id(2), "198.18.0.2:4000") as Peer;
    peers.announce(andy, "andy", 10);
    advance(5000);
    peers.announce(andy, "anna", 5010);
    const since = Object.fromEntries(peers.present().map((m) => [m.id, m.nickSince]));
    expect(since).toEqual({ [id(1)]: 10_000, [id(2)]: 65_000 });
  });

  test("a stated age is bounded: negative or absurd ages cannot date a nick in the future", () => {
    const { peers, advance } = table();
    advance(1000);
    const p = peers.heard(id(1), "198.18.0.1:4000") as Peer;
    peers.announce(p, "x", -5);
    expect(p.nickSince).toBe(1000);
    const q = peers.heard(id(2), "198.18.0.2:4000") as Peer;
    peers.announce(q, "y", Number.NaN);
    expect(q.nickSince).toBe(1000);
    const r = peers.heard(id(3), "198.18.0.3:4000") as Peer;
    peers.announce(r, "z", 2 ** 53);
    expect(Number.isFinite(r.nickSince)).toBe(true);
    expect(r.nickSince).toBeLessThan(1000);
  });
});
