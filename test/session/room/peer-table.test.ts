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
    anna.present = false; // timed out (a frozen laptop)
    advance(20_000);
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
