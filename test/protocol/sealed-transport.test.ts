/**
 * sealTransport (src/net/sealed-transport.ts): an encrypted room's transport over a synchronous
 * in-memory wire (no network). Two members with the room key hear each other; wrong keys,
 * forgeries, replays (same run and after the sender restarted), flipped bits, plaintext frames
 * and legacy text are dropped and counted; the warning comes once.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { MAX_KEY_SALTS, sealTransport, warningText } from "../../src/net/sealed-transport.ts";
import type { Channel, Datagram, Transport } from "../../src/net/transport.ts";
import {
  decode,
  deriveSendKey,
  encode,
  type Frame,
  isSealed,
  openFrame,
  SEALED_OVERHEAD,
  sealFrame,
} from "../../src/protocol/index.ts";

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
const message = (id: string, seq: number, text: string): Frame => ({
  type: "message",
  id,
  seq,
  nick: "alice",
  time: 1_700_000_000_000,
  fragIndex: 0,
  fragCount: 1,
  payload: new TextEncoder().encode(text),
  action: false,
  repair: false,
  history: false,
});

/** A member: the sealed transport over a stub, and what its session would have heard. */
function member(wire: Wire, address: string, key = roomKey, allowPlaintext = false) {
  const t = sealTransport(wire.attach(address), { roomKey: key, allowPlaintext });
  const heard: Datagram[] = [];
  const warnings: string[] = [];
  t.onDatagram((d) => heard.push(d));
  t.security.onWarning((w) => warnings.push(w));
  const frames = () => heard.filter((d) => !d.unauthenticated).map((d) => decode(d.data));
  return { t, heard, warnings, frames };
}

const A = "0123456789abcdef";
const B = "fedcba9876543210";

describe("sealTransport", () => {
  test("two members with the room key hear each other's frames (and their own)", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const b = member(wire, "198.18.0.2");
    await a.t.send(encode(hello(A)));
    await b.t.send(encode(message(B, 0, "hi alice")), "framed");
    expect(b.frames()).toEqual([hello(A), message(B, 0, "hi alice")]);
    expect(a.frames()).toEqual([hello(A), message(B, 0, "hi alice")]);
    expect(a.heard.map((d) => d.self)).toEqual([true, false]);
    expect(b.heard[0]?.address).toBe("198.18.0.1");
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

  test("a wrong passphrase: nothing heard, counted, one warning after 3", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const outsider = member(wire, "198.18.0.3", Uint8Array.from(randomBytes(32)));
    await a.t.send(encode(hello(A)));
    await a.t.send(encode(message(A, 0, "one")));
    expect(outsider.heard).toEqual([]);
    expect(outsider.warnings).toEqual([]);
    for (let i = 1; i < 6; i++) await a.t.send(encode(message(A, i, "more")));
    expect(outsider.heard).toEqual([]);
    expect(outsider.t.security.counters().undecryptable).toBe(7);
    expect(outsider.warnings).toEqual([warningText(3)]);
    expect(outsider.warnings[0]).toBe(
      "3 datagrams could not be decrypted — wrong passphrase, or another room on this group/port?",
    );
    // the outsider's own frames are lost on a: counted there, nothing shown
    await outsider.t.send(encode(hello(B, "mallory")));
    expect(a.frames().map((f) => f.id)).toEqual(Array(7).fill(A));
    expect(a.t.security.counters().undecryptable).toBe(1);
    // a late listener still gets the warning
    const late: string[] = [];
    outsider.t.security.onWarning((w) => late.push(w));
    expect(late).toEqual([warningText(3)]);
  });

  test("a replayed datagram is dropped: same run, and after the sender restarted", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const b = member(wire, "198.18.0.2");
    await a.t.send(encode(message(A, 0, "pay bob 10")));
    const captured = wire.sent[0]?.data as Uint8Array;
    wire.inject(captured);
    wire.inject(captured);
    expect(b.frames()).toHaveLength(1);
    expect(b.t.security.counters().replayed).toBe(2);
    // a restarts (new run, new key salt); b keeps its state; the capture is still refused
    const a2 = member(wire, "198.18.0.1");
    await a2.t.send(encode(hello(A)));
    wire.inject(captured);
    expect(b.frames()).toEqual([message(A, 0, "pay bob 10"), hello(A)]);
    expect(b.t.security.counters().replayed).toBe(3);
    expect(b.warnings).toEqual([]); // replays are not a wrong passphrase
  });

  test("reordered datagrams within the window are all delivered once", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    for (let i = 0; i < 20; i++) await a.t.send(encode(message(A, i, `m${i}`)));
    const order = [...wire.sent.keys()].reverse();
    for (const i of order) listenerWire.inject(wire.sent[i]?.data as Uint8Array);
    for (const i of order) listenerWire.inject(wire.sent[i]?.data as Uint8Array);
    expect(b.frames().map((f) => f.seq)).toEqual(order);
    expect(b.t.security.counters()).toEqual({
      undecryptable: 0,
      replayed: 20,
      plaintextDropped: 0,
    });
  });

  test("a flipped bit anywhere: not delivered, counted undecryptable", async () => {
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    await a.t.send(encode(message(A, 0, "x")));
    const good = wire.sent[0]?.data as Uint8Array;
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Uint8Array.from(good);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      listenerWire.inject(bad);
    }
    expect(b.heard).toEqual([]);
    const c = b.t.security.counters();
    // bits of the magic or type make it plaintext; all others fail to open
    expect(c.undecryptable + c.plaintextDropped).toBe(good.length * 8);
    expect(c.replayed).toBe(0);
    listenerWire.inject(good); // the original still opens: failures did not move the window
    expect(b.frames()).toEqual([message(A, 0, "x")]);
    expect(b.warnings).toHaveLength(1);
  });

  test("a key salt is bound to the first inner instance id it carried", () => {
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    const salt = Uint8Array.from(randomBytes(16));
    const key = deriveSendKey(roomKey, salt);
    listenerWire.inject(sealFrame(key, salt, 0n, encode(hello(A))));
    listenerWire.inject(sealFrame(key, salt, 1n, encode(hello(B, "bob")))); // a key holder lying
    listenerWire.inject(sealFrame(key, salt, 2n, encode(message(A, 0, "ok"))));
    expect(b.frames().map((f) => f.id)).toEqual([A, A]);
    expect(b.t.security.counters().undecryptable).toBe(1);
    // the refused datagram did not use up its counter either
    listenerWire.inject(sealFrame(key, salt, 1n, encode(message(A, 1, "late"))));
    expect(b.frames().map((f) => f.id)).toEqual([A, A, A]);
  });

  test(`the key salt table is bounded (${MAX_KEY_SALTS}), least recently verified out first`, () => {
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    const sender = (i: number) => {
      const salt = Uint8Array.from(randomBytes(16));
      const key = deriveSendKey(roomKey, salt);
      const id = i.toString(16).padStart(16, "0");
      return (c: bigint) => sealFrame(key, salt, c, encode(hello(id)));
    };
    const first = sender(0xaaaa);
    const busy = sender(0xbbbb);
    listenerWire.inject(first(0n));
    listenerWire.inject(busy(0n));
    for (let i = 1; i <= MAX_KEY_SALTS; i++) {
      listenerWire.inject(sender(i)(0n));
      if (i % 100 === 0) listenerWire.inject(busy(BigInt(i))); // busy stays recent
    }
    expect(b.heard).toHaveLength(2 + MAX_KEY_SALTS + 10);
    listenerWire.inject(busy(0n));
    expect(b.t.security.counters().replayed).toBe(1); // still known: replay refused
    listenerWire.inject(first(0n));
    expect(b.heard).toHaveLength(2 + MAX_KEY_SALTS + 11); // forgotten: a replay gets through
  });

  test("a sealed datagram whose inner bytes are not a v1 frame is dropped", () => {
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    const salt = Uint8Array.from(randomBytes(16));
    const key = deriveSendKey(roomKey, salt);
    listenerWire.inject(
      sealFrame(key, salt, 0n, new TextEncoder().encode("plain text, 17+ bytes")),
    );
    expect(b.heard).toEqual([]);
    expect(b.t.security.counters().undecryptable).toBe(1);
  });

  test("plaintext frames on the companion port: dropped, counted, warned about", () => {
    const listenerWire = new Wire();
    const b = member(listenerWire, "198.18.0.2");
    for (let i = 0; i < 4; i++) listenerWire.inject(encode(message(B, i, "open room")));
    expect(b.heard).toEqual([]);
    expect(b.t.security.counters().plaintextDropped).toBe(4);
    expect(b.warnings).toEqual([warningText(3)]);
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
    const wire = new Wire();
    const a = member(wire, "198.18.0.1");
    const plainWire = new Wire();
    const b = member(plainWire, "198.18.0.2", roomKey, true);
    await a.t.send(encode(hello(A)));
    const deliver = (data: Uint8Array) =>
      plainWire.stubs[0]?.handler({ data, address: "198.18.0.9", port: 3 });
    deliver(wire.sent[0]?.data as Uint8Array);
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
