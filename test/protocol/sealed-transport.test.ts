/**
 * sealTransport (src/net/sealed-transport.ts): an encrypted room's transport over a synchronous
 * in-memory wire (no network). Two members with the room key hear each other; wrong keys,
 * forgeries, replays (same run and after the sender restarted), flipped bits, plaintext frames
 * and legacy text are dropped and counted. Freshness (PROTOCOL.md §10.7): a run is shown only
 * after it echoed a nonce of ours, so a capture replayed to a later joiner shows nothing.
 * Time is a virtual clock: the freshness exchange and the alarms run on it.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ECHO_GAP_MS, FRESH_AGE_MS } from "../../src/net/freshness.ts";
import { LEGACY_HINT_GAP_MS } from "../../src/net/legacy-hint.ts";
import { NAMED_PROOF_REACH } from "../../src/net/named-proof.ts";
import { SELF_WAIT_MS } from "../../src/net/passphrase-alarm.ts";
import { MAX_COUNTER_JUMP } from "../../src/net/replay-window.ts";
import { MAX_KEY_SALTS, PROOF_TIMEOUT_MS, sealTransport } from "../../src/net/sealed-transport.ts";
import type { Channel, Datagram, Transport } from "../../src/net/transport.ts";
import {
  decode,
  decodeFresh,
  deriveSendKey,
  encode,
  encodeFresh,
  type Frame,
  isFresh,
  isSealed,
  openFrame,
  SEALED_OVERHEAD,
  sealFrame,
} from "../../src/protocol/index.ts";
import { messageFrame } from "../helpers/frames.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

/** A wire every attached stub hears synchronously (its own datagrams too, flagged self). */
class Wire {
  readonly stubs: Stub[] = [];
  readonly sent: { data: Uint8Array; channel: Channel }[] = [];
  attach(address: string): Stub {
    const s = new Stub(this, address);
    this.stubs.push(s);
    return s;
  }
  /** Delivers raw bytes, as from `from`, to every stub (an attacker's injection). */
  inject(data: Uint8Array, channel: Channel = "framed", from = "198.18.0.66"): void {
    for (const s of this.stubs) s.handler({ data: data.slice(), address: from, port: 1, channel });
  }
}

class Stub implements Transport {
  handler: (d: Datagram) => void = () => {};
  closed = false;
  readonly recvBufferSize = 4242;
  constructor(
    private readonly wire: Wire,
    readonly address: string,
  ) {}
  async send(data: Uint8Array, channel: Channel = "framed"): Promise<void> {
    if (this.closed) throw new Error("closed");
    this.wire.sent.push({ data, channel });
    for (const s of this.wire.stubs) {
      s.handler({ data: data.slice(), address: this.address, port: 2, channel, self: s === this });
    }
  }
  onDatagram(handler: (d: Datagram) => void): void {
    this.handler = handler;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const roomKey = Uint8Array.from(randomBytes(32));
const hello = (id: string, nick = "alice"): Frame => ({
  type: "hello",
  id,
  seq: 0xffffffff,
  nick,
  age: 0,
});
const message = (id: string, seq: number, text: string): Frame =>
  messageFrame(seq, {
    id,
    nick: "alice",
    time: 1_700_000_000_000,
    payload: new TextEncoder().encode(text),
  });

/** A member: the sealed transport over a stub, and what its session would have heard. */
function member(
  wire: Wire,
  address: string,
  key = roomKey,
  allowPlaintext = false,
  vc = new VirtualClock(1000),
) {
  const t = sealTransport(wire.attach(address), { roomKey: key, allowPlaintext, scheduler: vc });
  const heard: Datagram[] = [];
  const warnings: string[] = [];
  t.onDatagram((d) => heard.push(d));
  t.security.onWarning((w) => warnings.push(w));
  const frames = () => heard.filter((d) => !d.unauthenticated).map((d) => decode(d.data));
  return { t, heard, warnings, frames };
}

const A = "0123456789abcdef";
const B = "fedcba9876543210";

/** A wire on a virtual clock; `join` attaches a member to both. */
function room() {
  const vc = new VirtualClock(1000);
  const wire = new Wire();
  const join = (address: string, key = roomKey, allowPlaintext = false) =>
    member(wire, address, key, allowPlaintext, vc);
  return { vc, wire, join };
}

/** A room where b (198.18.0.2) has said HELLO as B: it has sent, so a run can name it. */
async function roomWithB() {
  const r = room();
  const b = r.join("198.18.0.2");
  await b.t.send(encode(hello(B)));
  return { ...r, b };
}

/** The FRESH frames on `wire` (opened with the room key): who sent them, and what. */
function freshOn(wire: Wire, key = roomKey) {
  const out: { salt: string; challenge?: Uint8Array; echoes: Uint8Array[]; floor: bigint }[] = [];
  for (const { data } of wire.sent) {
    try {
      const o = openFrame((s) => deriveSendKey(key, s), data);
      if (isFresh(o.inner)) {
        out.push({ salt: Buffer.from(o.salt).toString("hex"), ...decodeFresh(o.inner) });
      }
    } catch {
      // not ours to open
    }
  }
  return out;
}

/** A run sealing by hand (a key holder): frames under its own salt, and echoes of challenges. */
function handRun(key = roomKey) {
  const salt = Uint8Array.from(randomBytes(16));
  const k = deriveSendKey(key, salt);
  let next = 0n;
  return {
    salt,
    seal(inner: Uint8Array, counter = next): Uint8Array {
      if (counter >= next) next = counter + 1n;
      return sealFrame(k, salt, counter, inner);
    },
    /** An echo of every challenge heard on `wire` so far, announcing `floor`. */
    echo(wire: Wire, floor = 0n): Uint8Array {
      const echoes = freshOn(wire).flatMap((f) => (f.challenge ? [f.challenge] : []));
      return sealFrame(k, salt, next++, encodeFresh({ floor, echoes: echoes.slice(-32) }));
    },
  };
}

describe("sealTransport", () => {
  test("two members with the room key hear each other's frames once each proved it is live", async () => {
    const { vc, join } = room();
    const a = join("198.18.0.1");
    const b = join("198.18.0.2");
    await a.t.send(encode(hello(A)));
    await b.t.send(encode(message(B, 0, "hi alice")), "framed");
    // Held until the runs answered each other's challenges (one round, ~10 ms): b has only its own.
    expect(b.frames()).toEqual([message(B, 0, "hi alice")]);
    await vc.run(100);
    expect(b.frames()).toEqual([message(B, 0, "hi alice"), hello(A)]);
    expect(a.frames()).toEqual([hello(A), message(B, 0, "hi alice")]);
    expect(a.heard.map((d) => d.self)).toEqual([true, false]);
    expect(b.heard[1]?.address).toBe("198.18.0.1");
    // Now proven: frames pass at once.
    await a.t.send(encode(message(A, 0, "now")));
    expect(b.frames().at(-1)).toEqual(message(A, 0, "now"));
    expect(a.t.security.counters()).toEqual({ undecryptable: 0, replayed: 0, plaintextDropped: 0 });
    expect(a.warnings).toEqual([]);
    expect(a.t.security.encrypted).toBe(true);
    expect(a.t.recvBufferSize).toBe(4242);
  });

  test("on the wire: sealed only, counters 0,1,2.. under one salt per run, no plaintext (nick, text, id)", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    for (let i = 0; i < 3; i++) await a.t.send(encode(message(A, i, "the secret plan")));
    const again = member(wire, "198.18.0.1"); // the same member restarted
    await again.t.send(encode(hello(A)));
    const salts = new Set<string>();
    for (const [i, { data, channel }] of wire.sent.entries()) {
      expect(channel).toBe("framed");
      expect(isSealed(data)).toBe(true);
      const hex = Buffer.from(data).toString("hex");
      salts.add(hex.slice(8, 40));
      if (i < 3) expect(data.subarray(20, 28)).toEqual(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, i]));
      for (const secret of ["alice", "secret", A]) {
        const needle = /^[0-9a-f]+$/.test(secret)
          ? secret
          : Buffer.from(secret, "utf8").toString("hex");
        expect(hex.includes(needle)).toBe(false);
      }
    }
    expect(salts.size).toBe(2); // the restarted run has a new key salt: no (key, nonce) reuse
    expect(wire.sent[0]?.data.length).toBe(
      encode(message(A, 0, "the secret plan")).length + SEALED_OVERHEAD,
    );
  });

  test("the key salt comes from opts.random, and its send key seals", async () => {
    const wire = new Wire();
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
    const t = sealTransport(wire.attach("198.18.0.1"), { roomKey, random: () => salt });
    const inner = encode(hello(A));
    await t.send(inner);
    expect(wire.sent[0]?.data).toEqual(sealFrame(deriveSendKey(roomKey, salt), salt, 0n, inner));
    await t.close();
  });

  test("an encrypted room never sends plain text", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    await expect(a.t.send(new TextEncoder().encode("hi"), "legacy")).rejects.toThrow(/plain text/);
    expect(wire.sent).toEqual([]);
  });

  test("a caller bug (not a frame) rejects without using a counter", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    await expect(a.t.send(new Uint8Array(3))).rejects.toThrow(RangeError);
    await a.t.send(encode(hello(A)));
    expect(wire.sent[0]?.data.subarray(20, 28)).toEqual(new Uint8Array(8));
  });

  test("a capture replayed to a member that joined after it shows nothing, and is counted", async () => {
    const { vc, wire, join } = room();
    const boss = join("198.18.0.1");
    await boss.t.send(encode(hello(A, "boss")));
    await boss.t.send(encode(message(A, 0, "wire the money to mallory")));
    const captured = wire.sent.map((s) => s.data);
    await boss.t.close(); // the run is gone; an outsider kept its datagrams
    await vc.run(60_000);
    const laterWire = new Wire();
    const late = member(laterWire, "198.18.0.2", roomKey, false, vc);
    for (const d of captured) laterWire.inject(d, "framed", "198.18.0.1");
    await vc.run(PROOF_TIMEOUT_MS + 500);
    expect(late.heard).toEqual([]);
    expect(late.t.security.counters().replayed).toBe(captured.length);
    // it asked the room (challenges, repeated while unanswered), and nobody could answer
    const challenges = freshOn(laterWire).filter((f) => f.challenge);
    expect(challenges.length).toBeGreaterThanOrEqual(2);
    expect(challenges.length).toBeLessThanOrEqual(Math.ceil(PROOF_TIMEOUT_MS / 100) + 1);
    // the same capture again later: still nothing
    for (const d of captured) laterWire.inject(d, "framed", "198.18.0.1");
    await vc.run(PROOF_TIMEOUT_MS + 500);
    expect(late.heard).toEqual([]);
    expect(late.warnings).toEqual([]); // replays are not a wrong passphrase
  });

  test("a run first heard at a time whose deadline rounds below since + 3 s is still dropped at it (no re-arming loop)", async () => {
    // 62536.24 + 3000 crosses 65536: the sum rounds, and (since + 3000) - since < 3000. A
    // deadline checked as `now - since < 3000` re-armed itself at the same instant forever.
    const at = 62536.24;
    expect(at + PROOF_TIMEOUT_MS - at).toBeLessThan(PROOF_TIMEOUT_MS);
    const { vc, wire, join } = room();
    const boss = join("198.18.0.1");
    await boss.t.send(encode(hello(A, "boss")));
    const captured = wire.sent.map((s) => s.data);
    await boss.t.close();
    await vc.runUntil(at);
    const laterWire = new Wire();
    const late = member(laterWire, "198.18.0.2", roomKey, false, vc);
    for (const d of captured) laterWire.inject(d, "framed", "198.18.0.1");
    // At most 10,000 timers: the loop would spend them all at the deadline and drop nothing.
    await vc.runUntil(at + PROOF_TIMEOUT_MS + 500, 10_000);
    expect(late.heard).toEqual([]);
    expect(late.t.security.counters().replayed).toBe(captured.length);
  });

  test("old frames of a run that is still live are refused below its floor; its new ones are shown", async () => {
    const { vc, wire, join } = room();
    const boss = join("198.18.0.1");
    await boss.t.send(encode(message(A, 0, "wire the money to mallory")));
    const captured = wire.sent[0]?.data as Uint8Array;
    await vc.run(FRESH_AGE_MS + 5000);
    const late = join("198.18.0.2");
    wire.inject(captured, "framed", "198.18.0.1"); // replayed to the newcomer, boss still here
    await vc.run(200);
    await boss.t.send(encode(message(A, 1, "live")));
    await vc.run(200);
    expect(late.frames()).toEqual([message(A, 1, "live")]);
    expect(late.t.security.counters().replayed).toBe(1);
    const echo = freshOn(wire).find((f) => f.echoes.length > 0);
    expect(echo?.floor).toBe(1n); // boss's first counter sealed within FRESH_AGE_MS
  });

  test("a member that restarted is shown within a few ms (virtual), well under 1 s", async () => {
    const { vc, join } = room();
    const lis = join("198.18.0.2");
    const first = join("198.18.0.1");
    await first.t.send(encode(hello(A)));
    await vc.run(100);
    await first.t.close();
    const again = join("198.18.0.1");
    const t0 = vc.now();
    await again.t.send(encode(message(B, 0, "back")));
    let shownAt: number | undefined;
    for (let i = 0; i < 1000 && shownAt === undefined; i++) {
      await vc.run(1);
      if (lis.frames().some((f) => f.type === "message")) shownAt = vc.now();
    }
    expect(shownAt).toBeDefined();
    expect((shownAt as number) - t0).toBeLessThan(100);
  });

  test("a run that never answers nor names us (a replay, a 0.2 member): not shown, and challenged one round per 30 s", async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    const old = handRun(); // never echoes, and we never sent (no id of ours to name)
    for (let t = 0; t < 60_000; t += 500) {
      wire.inject(old.seal(encode(message(A, t / 500, `beat ${t}`))));
      await vc.run(500);
    }
    expect(b.heard.filter((d) => !d.self)).toEqual([]);
    const challenges = freshOn(wire).filter((f) => f.challenge).length;
    const perRound = Math.ceil(PROOF_TIMEOUT_MS / 250) + 1;
    expect(challenges).toBeGreaterThanOrEqual(2);
    expect(challenges).toBeLessThanOrEqual(2 * perRound + 2); // rounds at 0 s and ~33 s
    expect(b.t.security.counters().replayed).toBe(120);
    expect(b.warnings).toEqual([]);
  });

  describe("a member without FRESH (mcchat 0.3) proves itself by naming our run", () => {
    const C = "00112233445566aa";
    const report = (id: string, target: string, next = 0): Frame => ({
      type: "stream_report",
      id,
      seq: 0,
      entries: [
        { target: C, stream: 0, next: 9 },
        { target, stream: 0, next },
      ],
    });
    const nack = (id: string, target: string): Frame => ({
      type: "stream_nack",
      id,
      seq: 0,
      target,
      stream: 0,
      ranges: [{ start: 0, count: 1 }],
    });
    const fromOld = (b: ReturnType<typeof member>) => b.frames().filter((f) => f.id === A);

    test("its report about our stream shows it, with the frames held before, in order", async () => {
      const { vc, wire, b } = await roomWithB();
      const old = handRun(); // seals like 0.3: never echoes a challenge
      wire.inject(old.seal(encode(hello(A, "old"))));
      wire.inject(old.seal(encode(message(A, 0, "from 0.3"))));
      await vc.run(5);
      expect(fromOld(b)).toEqual([]); // held: not proven yet
      wire.inject(old.seal(encode(report(A, B)))); // what 0.3 sends 1 ms after our PRESENCE
      expect(fromOld(b)).toEqual([hello(A, "old"), message(A, 0, "from 0.3"), report(A, B)]);
      wire.inject(old.seal(encode(message(A, 1, "and on"))));
      expect(fromOld(b).at(-1)).toEqual(message(A, 1, "and on"));
      expect(b.t.security.counters()).toEqual({
        undecryptable: 0,
        replayed: 0,
        plaintextDropped: 0,
      });
    });

    test("a NACK asking us proves it too; naming someone else does not", async () => {
      const { wire, b } = await roomWithB();
      const old = handRun();
      wire.inject(old.seal(encode(message(A, 0, "held"))));
      wire.inject(old.seal(encode(nack(A, C))));
      wire.inject(
        old.seal(encode({ type: "report", id: A, seq: 0, entries: [{ target: C, next: 1 }] })),
      );
      expect(fromOld(b)).toEqual([]);
      wire.inject(old.seal(encode(nack(A, B))));
      expect(fromOld(b).map((f) => f.type)).toEqual([
        "message",
        "stream_nack",
        "report",
        "stream_nack",
      ]);
    });

    test("it is shown even after it was dropped for not answering challenges (backed off)", async () => {
      const { vc, wire, b } = await roomWithB();
      const old = handRun();
      wire.inject(old.seal(encode(hello(A, "old"))));
      await vc.run(PROOF_TIMEOUT_MS + 1000); // dropped, not challenged again for 30 s
      expect(b.t.security.counters().replayed).toBe(1);
      wire.inject(old.seal(encode(message(A, 0, "still unproven"))));
      expect(fromOld(b)).toEqual([]);
      wire.inject(old.seal(encode(report(A, B))));
      wire.inject(old.seal(encode(message(A, 1, "shown"))));
      expect(fromOld(b)).toEqual([report(A, B), message(A, 1, "shown")]);
    });

    test(`old frames of that run injected into the hold: refused more than ${NAMED_PROOF_REACH} below the naming frame`, async () => {
      const { wire, join } = room();
      const old = handRun();
      const captured = old.seal(encode(message(A, 0, "wire the money to mallory"))); // counter 0
      for (let i = 1; i < 200; i++) old.seal(encode(hello(A, "old"))); // it lives on (heartbeats)
      const b = join("198.18.0.2");
      await b.t.send(encode(hello(B)));
      const recent = old.seal(encode(message(A, 1, "just now")), 180n); // within reach
      wire.inject(captured, "framed", "198.18.0.1");
      wire.inject(recent);
      wire.inject(old.seal(encode(report(A, B)), 200n));
      expect(fromOld(b)).toEqual([message(A, 1, "just now"), report(A, B)]);
      expect(b.t.security.counters().replayed).toBe(1);
      // and later too: its window's floor stays there
      wire.inject(captured, "framed", "198.18.0.1");
      expect(fromOld(b)).toHaveLength(2);
      expect(b.t.security.counters().replayed).toBe(2);
    });

    test("a capture of a 0.3 run replayed to a later joiner is refused: it cannot name the joiner", async () => {
      const { vc, wire, join } = room();
      const old = handRun();
      // The captured run reported on the members of its time (C), as 0.3 does.
      const captured = [
        old.seal(encode(hello(A, "boss"))),
        old.seal(encode(report(A, C))),
        old.seal(encode(nack(A, C))),
        old.seal(encode(message(A, 0, "wire the money to mallory"))),
      ];
      const late = join("198.18.0.2");
      await late.t.send(encode(hello(B)));
      for (const d of captured) wire.inject(d, "framed", "198.18.0.1");
      await vc.run(PROOF_TIMEOUT_MS + 500);
      for (const d of captured) wire.inject(d, "framed", "198.18.0.1");
      await vc.run(PROOF_TIMEOUT_MS + 500);
      expect(fromOld(late)).toEqual([]);
      expect(late.t.security.counters().replayed).toBe(2 * captured.length);
    });

    test("ids we only relay (history answers) do not count as ours", async () => {
      const { wire, b } = await roomWithB();
      const relayed = message(C, 3, "an old line of C");
      if (relayed.type === "message") relayed.history = true;
      await b.t.send(encode(relayed));
      const old = handRun();
      wire.inject(old.seal(encode(message(A, 0, "held"))));
      wire.inject(old.seal(encode(report(A, C))));
      expect(fromOld(b)).toEqual([]);
    });
  });

  test("twenty joiners at once: each live run answers all their challenges in a few echoes", async () => {
    const { vc, wire, join } = room();
    const a = join("198.18.0.1");
    const joiners = Array.from({ length: 20 }, (_, i) => join(`198.18.1.${i + 1}`));
    await a.t.send(encode(hello(A)));
    await vc.run(1000);
    for (const j of joiners) expect(j.frames()).toEqual([hello(A)]);
    const aSalt = Buffer.from(wire.sent[0]?.data.subarray(4, 20) as Uint8Array).toString("hex");
    const fromA = freshOn(wire).filter((f) => f.salt === aSalt);
    const echoesFromA = fromA.filter((f) => f.echoes.length > 0);
    // one echo per ECHO_GAP_MS at most, each listing many nonces
    expect(echoesFromA.length).toBeLessThanOrEqual(Math.ceil(1000 / ECHO_GAP_MS));
    expect(echoesFromA.length).toBeLessThan(20);
    expect(Math.max(...echoesFromA.map((f) => f.echoes.length))).toBeGreaterThan(1);
  });

  test("challenges replayed at it as fast as they come: a member echoes at most once per ECHO_GAP_MS", async () => {
    const { vc, wire, b } = await roomWithB();
    const bSalt = Buffer.from(wire.sent[0]?.data.subarray(4, 20) as Uint8Array).toString("hex");
    const runs = Array.from({ length: 50 }, () => handRun());
    for (let i = 0; i < 1000; i++) {
      const r = runs[i % runs.length] as ReturnType<typeof handRun>;
      const challenge = Uint8Array.from(randomBytes(8));
      wire.inject(r.seal(encodeFresh({ floor: 0n, challenge, echoes: [] })));
      await vc.run(1);
    }
    await vc.run(100);
    const echoes = freshOn(wire).filter((f) => f.salt === bSalt && f.echoes.length > 0);
    expect(echoes.length).toBeGreaterThan(5);
    expect(echoes.length).toBeLessThanOrEqual(Math.ceil(1100 / ECHO_GAP_MS) + 1);
    expect(b.heard.filter((d) => !d.self)).toEqual([]);
  });

  test("a wrong passphrase: its owner is told within 1 s; members that verify others name it; nothing shown", async () => {
    const { vc, join } = room();
    const a = join("198.18.0.1");
    const b = join("198.18.0.2");
    await a.t.send(encode(hello(A)));
    await b.t.send(encode(hello(B)));
    await vc.run(200);
    const outsider = join("198.18.0.3", Uint8Array.from(randomBytes(32)));
    await outsider.t.send(encode(hello(B, "mallory"))); // its hello, sealed under another key
    const t0 = vc.now();
    let toldAt: number | undefined;
    for (let i = 0; i < 2000 && toldAt === undefined; i++) {
      await vc.run(1);
      if (outsider.warnings.length > 0) toldAt = vc.now();
    }
    expect(toldAt).toBeDefined();
    expect((toldAt as number) - t0).toBeLessThanOrEqual(SELF_WAIT_MS + 20);
    expect(outsider.warnings[0]).toMatch(/^nothing in this room opens with your passphrase: /);
    expect(a.warnings).toEqual([]); // the owner learns first
    await vc.run(2000);
    for (const m of [a, b]) {
      expect(m.warnings).toEqual([
        "someone here uses another passphrase: sealed datagrams from 198.18.0.3:2 do not open with ours (or another encrypted room shares this group/port)",
      ]);
    }
    for (let i = 0; i < 5; i++) await a.t.send(encode(message(A, i, "more")));
    await vc.run(2000);
    expect(outsider.heard.filter((d) => !d.self)).toEqual([]);
    expect(outsider.warnings).toHaveLength(1);
    expect(a.frames().filter((f) => f.id === B && f.type === "hello")).toHaveLength(1); // bob's only
    expect(outsider.warnings[0]).toMatch(/could not be opened — is the passphrase right\?/);
  });

  test("plaintext junk (doctor-like frames, text, short sealed-looking bytes) never raises an alarm", async () => {
    const { vc, wire, join } = room();
    const a = join("198.18.0.1");
    const b = join("198.18.0.2");
    await a.t.send(encode(hello(A)));
    await vc.run(100);
    for (let i = 0; i < 3; i++) wire.inject(encode(hello(B, "doctor")));
    for (let i = 0; i < 3; i++) wire.inject(new TextEncoder().encode("mcchat doctor probe"));
    wire.inject(Uint8Array.from([0xff, 0x4d, 0x01, 0x40, 1, 2, 3])); // sealed type, too short
    wire.inject(Uint8Array.from([0xff, 0x4d, 0x01, 0x41, ...new Uint8Array(80)])); // reserved type
    await vc.run(5000);
    for (const m of [a, b]) expect(m.warnings).toEqual([]);
    expect(b.t.security.counters().plaintextDropped).toBe(6);
    // and the real warning is still there to give
    const outsider = join("198.18.0.3", Uint8Array.from(randomBytes(32)));
    await outsider.t.send(encode(hello(B, "eve")));
    await vc.run(2000);
    expect(b.warnings).toHaveLength(1);
    expect(b.warnings[0]).toMatch(/^someone here uses another passphrase: .*198\.18\.0\.3/);
  });

  test("datagrams from our own address and port that we did not send: nothing thrown, nothing said", async () => {
    const { vc, wire, join } = room();
    const a = join("198.18.0.1");
    const b = join("198.18.0.2");
    await a.t.send(encode(hello(A)));
    await vc.run(100);
    const stub = wire.stubs[1] as Stub;
    const self = (data: Uint8Array) =>
      stub.handler({ data, address: "198.18.0.2", port: 2, channel: "framed", self: true });
    const junk = [
      Uint8Array.from([0xff, 0x4d, 0x01, 0x41]),
      Uint8Array.from([0xff, 0x4d, 0x01, 0x40]),
      Uint8Array.from([0xff, 0x4d, 0x02, 0x40, ...new Uint8Array(80)]),
      Uint8Array.from([0xff, 0x4d, 0x01, 0x40, ...new Uint8Array(80)]),
      Uint8Array.from([0xff, 0x4d]),
      new Uint8Array(0),
      handRun().seal(encode(hello(B))),
      wire.sent[0]?.data as Uint8Array, // a's datagram, flagged as ours
    ];
    for (const d of junk) expect(() => self(d)).not.toThrow();
    await vc.run(3000);
    expect(b.warnings).toEqual([]);
    expect(b.heard.filter((d) => d.self)).toEqual([]);
    await a.t.send(encode(message(A, 0, "still here")));
    expect(b.frames().at(-1)).toEqual(message(A, 0, "still here"));
  });

  test("a replayed datagram is dropped: same run, and after the sender restarted", async () => {
    const { vc, wire, join } = room();
    const a = join("198.18.0.1");
    const b = join("198.18.0.2");
    await a.t.send(encode(message(A, 0, "pay bob 10")));
    await vc.run(100);
    const captured = wire.sent[0]?.data as Uint8Array;
    wire.inject(captured);
    wire.inject(captured);
    expect(b.frames()).toHaveLength(1);
    expect(b.t.security.counters().replayed).toBe(2);
    // a restarts (new run, new key salt); b keeps its state; the capture is still refused
    await a.t.close();
    const a2 = join("198.18.0.1");
    await a2.t.send(encode(hello(A)));
    await vc.run(100);
    wire.inject(captured);
    expect(b.frames()).toEqual([message(A, 0, "pay bob 10"), hello(A)]);
    expect(b.t.security.counters().replayed).toBe(3);
    expect(b.warnings).toEqual([]); // replays are not a wrong passphrase
  });

  test("reordered datagrams within the window are all delivered once", async () => {
    const { vc, wire, join } = room();
    const run = handRun();
    const b = join("198.18.0.2");
    const sent = Array.from({ length: 20 }, (_, i) => run.seal(encode(message(A, i, `m${i}`))));
    const order = [...sent.keys()].reverse();
    for (const i of order) wire.inject(sent[i] as Uint8Array);
    await vc.run(50);
    wire.inject(run.echo(wire)); // the run proves it is live
    for (const i of order) wire.inject(sent[i] as Uint8Array);
    expect(b.frames().map((f) => f.seq)).toEqual(order);
    expect(b.t.security.counters()).toEqual({
      undecryptable: 0,
      replayed: 20,
      plaintextDropped: 0,
    });
  });

  test("a flipped bit anywhere: not delivered, counted undecryptable", async () => {
    const { vc, wire, join } = room();
    const run = handRun();
    const good = run.seal(encode(message(A, 0, "x")));
    const b = join("198.18.0.2");
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Uint8Array.from(good);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      wire.inject(bad);
    }
    expect(b.heard).toEqual([]);
    const c = b.t.security.counters();
    // bits of the magic or type make it plaintext; all others fail to open
    expect(c.undecryptable + c.plaintextDropped).toBe(good.length * 8);
    expect(c.replayed).toBe(0);
    wire.inject(good); // the original still opens: failures did not move the window
    await vc.run(50);
    wire.inject(run.echo(wire));
    expect(b.frames()).toEqual([message(A, 0, "x")]);
  });

  test("a key salt is bound to the first inner instance id it carried", async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    const run = handRun();
    wire.inject(run.seal(encode(hello(A))));
    await vc.run(50);
    wire.inject(run.echo(wire)); // counter 1
    wire.inject(run.seal(encode(hello(B, "bob")), 2n)); // a key holder lying
    wire.inject(run.seal(encode(message(A, 0, "ok")), 3n));
    expect(b.frames().map((f) => f.id)).toEqual([A, A]);
    expect(b.t.security.counters().undecryptable).toBe(1);
    // the refused datagram did not use up its counter either
    wire.inject(run.seal(encode(message(A, 1, "late")), 2n));
    expect(b.frames().map((f) => f.id)).toEqual([A, A, A]);
  });

  test("a counter far beyond the window cannot move it: the run must prove itself again", async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    const run = handRun();
    wire.inject(run.seal(encode(hello(A)), 0n));
    await vc.run(50);
    wire.inject(run.echo(wire)); // counter 1
    expect(b.frames()).toEqual([hello(A)]);
    const far = 2n ** 64n - 2n;
    wire.inject(run.seal(encode(message(A, 0, "from the far future")), far));
    expect(b.frames()).toHaveLength(1); // held, not delivered
    await vc.run(50);
    // the real run answers from where it really is (counter ~2); the far frame is dropped
    const honest = handRun();
    void honest;
    wire.inject(
      sealFrame(
        deriveSendKey(roomKey, run.salt),
        run.salt,
        2n,
        encodeFresh({
          floor: 0n,
          echoes: freshOn(wire)
            .flatMap((f) => (f.challenge ? [f.challenge] : []))
            .slice(-32),
        }),
      ),
    );
    wire.inject(run.seal(encode(message(A, 1, "real")), 3n));
    expect(
      b.frames().map((f) => (f.type === "message" ? new TextDecoder().decode(f.payload) : f.type)),
    ).toEqual(["hello", "real"]);
    expect(b.t.security.counters().replayed).toBe(1);
    // jumps within MAX_COUNTER_JUMP are taken as they come
    wire.inject(run.seal(encode(message(A, 2, "jump")), 3n + MAX_COUNTER_JUMP));
    expect(b.frames()).toHaveLength(3);
  });

  test(`the key salt table is bounded (${MAX_KEY_SALTS}), least recently verified out first`, async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    const sender = (i: number) => {
      const run = handRun();
      const id = i.toString(16).padStart(16, "0");
      return { hello: (c: bigint) => run.seal(encode(hello(id)), c), run };
    };
    const prove = async (runs: ReturnType<typeof sender>[]) => {
      await vc.run(20);
      for (const r of runs) wire.inject(r.run.echo(wire));
    };
    const first = sender(0xaaaa);
    const busy = sender(0xbbbb);
    wire.inject(first.hello(0n));
    wire.inject(busy.hello(0n));
    await prove([first, busy]);
    for (let i = 1; i <= MAX_KEY_SALTS; i++) {
      const s = sender(i);
      wire.inject(s.hello(0n));
      await prove([s]);
      if (i % 100 === 0) wire.inject(busy.hello(BigInt(i * 2))); // busy stays recent
    }
    expect(b.heard).toHaveLength(2 + MAX_KEY_SALTS + Math.floor(MAX_KEY_SALTS / 100));
    // `first` was forgotten while still live (seconds ago): said once, not silently.
    expect(
      b.warnings.filter((w) => w.startsWith(`more than ${MAX_KEY_SALTS} members`)),
    ).toHaveLength(1);
    wire.inject(busy.hello(0n));
    expect(b.t.security.counters().replayed).toBe(1); // still known: replay refused
    wire.inject(first.hello(0n));
    await vc.run(PROOF_TIMEOUT_MS + 100);
    // forgotten, but a replay no longer gets through: the run would have to prove itself again
    expect(b.heard).toHaveLength(2 + MAX_KEY_SALTS + Math.floor(MAX_KEY_SALTS / 100));
    expect(b.t.security.counters().replayed).toBe(2);
  }, 180_000); // MAX_KEY_SALTS runs, each proven

  test("a sealed datagram whose inner bytes are not a v1 frame is dropped", () => {
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    const run = handRun();
    listenerWire.inject(run.seal(new TextEncoder().encode("plain text, 17+ bytes")));
    expect(b.heard).toEqual([]);
    expect(b.t.security.counters().undecryptable).toBe(1);
  });

  test("plaintext frames on the companion port: dropped and counted, no warning", async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    for (let i = 0; i < 4; i++) wire.inject(encode(message(B, i, "open room")));
    await vc.run(5000);
    expect(b.heard).toEqual([]);
    expect(b.t.security.counters().plaintextDropped).toBe(4);
    expect(b.warnings).toEqual([]);
  });

  test("legacy text is dropped and counted (no warning), or with allowPlaintext passed on marked unauthenticated", () => {
    const listenerWire = new Wire();
    const strict = member(listenerWire, "198.18.0.2");
    const lax = member(listenerWire, "198.18.0.3", roomKey, true);
    const text = new TextEncoder().encode("hello from a legacy program");
    for (let i = 0; i < 5; i++) listenerWire.inject(text, "legacy");
    expect(strict.heard).toEqual([]);
    expect(strict.t.security.counters().plaintextDropped).toBe(5);
    expect(strict.warnings).toEqual([]);
    expect(lax.heard).toHaveLength(5);
    expect(lax.heard[0]).toMatchObject({ data: text, unauthenticated: true, channel: "legacy" });
    expect(lax.t.security.counters().plaintextDropped).toBe(0);
    // a frame on the room port is never passed on, even with allowPlaintext
    listenerWire.inject(encode(hello(B)), "legacy");
    expect(lax.heard).toHaveLength(5);
    expect(lax.t.security.counters().plaintextDropped).toBe(1);
  });

  test("a transport that cannot tell the channel: the content decides", async () => {
    const { vc, wire: plainWire, join } = room();
    const run = handRun();
    const b = join("198.18.0.2", roomKey, true);
    const deliver = (data: Uint8Array) =>
      plainWire.stubs[0]?.handler({ data, address: "198.18.0.9", port: 3 });
    deliver(run.seal(encode(hello(A))));
    await vc.run(50);
    deliver(run.echo(plainWire));
    deliver(new TextEncoder().encode("legacy"));
    deliver(encode(hello(B)));
    expect(b.heard.map((d) => d.unauthenticated ?? false)).toEqual([false, true]);
    expect(decode(b.heard[0]?.data as Uint8Array)).toEqual(hello(A));
    expect(b.t.security.counters().plaintextDropped).toBe(1);
  });

  test("close passes through", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    await a.t.close();
    expect(wire.stubs[0]?.closed).toBe(true);
    await expect(a.t.send(encode(hello(A)))).rejects.toThrow();
  });

  test("the received inner frame is exactly what was sent", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const inner = encode(message(A, 5, "π ≈ 3.14159"));
    await a.t.send(inner);
    expect(a.heard[0]?.data).toEqual(inner);
    const opened = openFrame((s) => deriveSendKey(roomKey, s), wire.sent[0]?.data as Uint8Array);
    expect(opened.inner).toEqual(inner);
  });
});

describe("sealTransport: a run that speaks only v1 (mcchat 0.2) is hinted, never shown, before it names us", () => {
  const heartbeat = (id: string, compat = false): Frame => ({
    type: "heartbeat",
    id,
    seq: 0xffffffff,
    nick: "old",
    age: 5000,
    ...(compat ? { compat: true } : {}),
  });
  const v1Report = (id: string, target: string): Frame => ({
    type: "report",
    id,
    seq: 0xffffffff,
    entries: [{ target, next: 0 }],
  });
  /** A room with member b, and the hints its session would get. */
  function hinted() {
    const r = room();
    const b = r.join("198.18.0.2");
    let hints = 0;
    b.t.security.onLegacyRun?.(() => hints++);
    return { ...r, b, hints: () => hints };
  }
  const fromOld = (b: ReturnType<typeof member>) => b.frames().filter((f) => f.id === A);

  test("its v1 HELLO hints the session; nothing is shown until its v1 REPORT names us", async () => {
    const { vc, wire, b, hints } = hinted();
    await b.t.send(encode(hello(B)));
    const old = handRun(); // seals like 0.2: v1 frames only, never echoes a challenge
    wire.inject(old.seal(encode(hello(A, "old"))));
    wire.inject(old.seal(encode(message(A, 0, "from 0.2"))));
    expect(hints()).toBe(1);
    expect(fromOld(b)).toEqual([]);
    await vc.run(2000);
    wire.inject(old.seal(encode(heartbeat(A))));
    expect(hints()).toBe(2);
    expect(fromOld(b)).toEqual([]);
    // what 0.2 sends 20 ms after it hears our v1 HELLO (a 1.0 REPORT about our stream)
    wire.inject(old.seal(encode(v1Report(A, B))));
    expect(fromOld(b)).toEqual([
      hello(A, "old"),
      message(A, 0, "from 0.2"),
      heartbeat(A),
      v1Report(A, B),
    ]);
    // proven: its later presence is delivered, no more hints
    wire.inject(old.seal(encode(heartbeat(A))));
    await vc.run(2000);
    wire.inject(old.seal(encode(heartbeat(A))));
    expect(hints()).toBe(2);
    expect(fromOld(b)).toHaveLength(6);
  });

  test("v1.1 presence, the COMPAT-flagged v1 view, other v1 types and malformed frames give no hint", async () => {
    const { wire, b, hints } = hinted();
    await b.t.send(encode(hello(B)));
    const run = handRun();
    wire.inject(run.seal(encode(heartbeat(A, true)))); // a 1.1 member's v1 view
    wire.inject(run.seal(encode(message(A, 0, "text"))));
    wire.inject(
      run.seal(
        encode({
          type: "presence",
          id: A,
          seq: 1,
          phase: "hello",
          nick: "new",
          age: 0,
          streams: [],
        }),
      ),
    );
    const cut = encode(hello(A)).subarray(0, 20); // header + part of the body
    expect(() => wire.inject(run.seal(cut))).not.toThrow();
    const trailing = new Uint8Array([...encode(hello(A)), 0]);
    wire.inject(run.seal(trailing));
    expect(hints()).toBe(0);
    expect(fromOld(b)).toEqual([]);
  });

  test("a replayed 0.2 run, as fast as it comes: at most one hint per LEGACY_HINT_GAP_MS, nothing shown", async () => {
    const old = handRun();
    const captured = [
      old.seal(encode(hello(A, "boss"))),
      old.seal(encode(message(A, 0, "wire the money to mallory"))),
      old.seal(encode(v1Report(A, "00112233445566aa"))), // named the members of its time
      ...Array.from({ length: 50 }, () => old.seal(encode(heartbeat(A)))),
    ];
    const { vc, wire, b, hints } = hinted();
    await b.t.send(encode(hello(B)));
    const seconds = 40;
    for (let ms = 0; ms < seconds * 1000; ms += 10) {
      for (const d of captured.slice(0, 5)) wire.inject(d, "framed", "198.18.0.1");
      wire.inject(captured[(ms / 10) % captured.length] as Uint8Array, "framed", "198.18.0.1");
      await vc.run(10);
    }
    expect(fromOld(b)).toEqual([]);
    expect(hints()).toBeGreaterThanOrEqual(1);
    expect(hints()).toBeLessThanOrEqual((seconds * 1000) / LEGACY_HINT_GAP_MS + 1);
  });

  test("a listener that throws is contained: the datagram is still held, the next hint still comes", async () => {
    const { vc, wire, join } = room();
    const b = join("198.18.0.2");
    let calls = 0;
    b.t.security.onLegacyRun?.(() => {
      calls++;
      throw new Error("listener bug");
    });
    await b.t.send(encode(hello(B)));
    const old = handRun();
    expect(() => wire.inject(old.seal(encode(hello(A, "old"))))).not.toThrow();
    await vc.run(LEGACY_HINT_GAP_MS);
    wire.inject(old.seal(encode(heartbeat(A))));
    expect(calls).toBe(2);
    wire.inject(old.seal(encode(v1Report(A, B))));
    expect(fromOld(b).map((f) => f.type)).toEqual(["hello", "heartbeat", "report"]);
  });
});
