/**
 * The UDP transport on this namespace's loopback (224.0.0.0/4 routed to lo by
 * scripts/test.ts): a room's two ports, channels, self-detection, errors and close;
 * and the in-memory hub's model of the same (test/helpers/memory-net.ts).
 */
import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { UserError } from "../../src/errors.ts";
import type { Channel, Datagram } from "../../src/net/transport.ts";
import { openUdpTransport, type UdpTransport } from "../../src/net/udp-transport.ts";
import { waitFor } from "../helpers/events.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { assertPrivateNetns } from "../helpers/netns.ts";

assertPrivateNetns();

const GROUP = "239.1.120.1";
const open: UdpTransport[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  for (const s of sockets.splice(0)) {
    try {
      s.close();
    } catch {}
  }
});

async function member(port: number, raw = false): Promise<{ t: UdpTransport; got: Datagram[] }> {
  const t = await openUdpTransport({
    group: GROUP,
    port,
    raw,
    ttl: 1,
    loopback: true,
    recvBufferSize: 1 << 20,
    localAddresses: ["0.0.0.0", "127.0.0.1"],
  });
  open.push(t);
  const got: Datagram[] = [];
  t.onDatagram((d) => got.push(d));
  return { t, got };
}

/** A plain socket on `port` joined to the group, like a legacy program. */
async function plainReceiver(port: number): Promise<Buffer[]> {
  const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
  sockets.push(s);
  s.on("error", () => {});
  await new Promise<void>((resolve) => s.bind(port, resolve));
  s.addMembership(GROUP);
  const got: Buffer[] = [];
  s.on("message", (m) => got.push(m));
  return got;
}

/** Binds a plain socket to each of `ports` without SO_REUSEADDR: fails if anything holds one. */
async function bindExclusive(...ports: number[]): Promise<void> {
  for (const port of ports) {
    const s = dgram.createSocket({ type: "udp4" });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(port, resolve);
    });
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (d: Datagram) => new TextDecoder().decode(d.data);
const seen = (got: Datagram[]) => got.map((d) => [text(d), d.channel]);

describe("udp transport", () => {
  test("framed members: frames on P+1, legacy text on P, one source port; a legacy socket on P hears only the legacy channel", async () => {
    const P = 26100;
    const a = await member(P);
    const b = await member(P);
    const legacy = await plainReceiver(P);
    const companion = await plainReceiver(P + 1);
    await a.t.send(bytes("F1"));
    await a.t.send(bytes("L1"), "legacy");
    await a.t.send(bytes("F2"), "framed");
    await waitFor(
      () => b.got.length === 3 && companion.length === 2 && legacy.length === 1,
      3000,
      "deliveries",
    );
    expect(seen(b.got).sort()).toEqual([
      ["F1", "framed"],
      ["F2", "framed"],
      ["L1", "legacy"],
    ]);
    expect(legacy.map(String)).toEqual(["L1"]);
    expect(companion.map(String).sort()).toEqual(["F1", "F2"]);
    for (const d of b.got) {
      expect(d.port).toBe(a.t.sendPort);
      expect(d.self).toBe(false);
    }
    // Our own datagrams come back flagged, on both channels.
    await waitFor(() => a.got.length === 3, 3000, "loopback to the sender");
    expect(a.got.every((d) => d.self)).toBe(true);
    expect(a.t.recvBufferSize).toBeGreaterThan(0);
    // Nothing more on the legacy port, even once everything has settled.
    await a.t.send(bytes("L2"), "legacy");
    await waitFor(() => legacy.length === 2, 3000, "the second legacy datagram");
    expect(legacy.map(String)).toEqual(["L1", "L2"]);
  });

  test("raw member: only the room port; both channels go there and are heard as legacy", async () => {
    const P = 26110;
    const framed = await member(P);
    const raw = await member(P, true);
    const companion = await plainReceiver(P + 1);
    await framed.t.send(bytes("frame"));
    await framed.t.send(bytes("text"), "legacy");
    await raw.t.send(bytes("r1"));
    await raw.t.send(bytes("r2"), "legacy");
    await waitFor(
      () =>
        framed.got.filter((d) => !d.self).length === 2 &&
        raw.got.filter((d) => !d.self).length === 1,
      3000,
      "deliveries",
    );
    // The raw member never hears the framed channel.
    await waitFor(() => companion.length === 1, 3000, "the frame at the companion port");
    expect(seen(raw.got.filter((d) => !d.self))).toEqual([["text", "legacy"]]);
    expect(seen(framed.got.filter((d) => !d.self)).sort()).toEqual([
      ["r1", "legacy"],
      ["r2", "legacy"],
    ]);
    expect(companion.map(String)).toEqual(["frame"]);
    expect(raw.t.recvBufferSize).toBeGreaterThan(0);
  });

  test("port 65535: a framed room is refused (exit 2), a raw one opens", async () => {
    const err = await member(65535).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as UserError).message).toContain("port 65535: a framed room also uses port 65536");
    expect((err as UserError).message).toContain("--raw or a lower port");
    const raw = await member(65535, true);
    await raw.t.send(bytes("x"));
    await waitFor(() => raw.got.length === 1, 3000, "own datagram");
    expect(raw.got[0]?.channel).toBe("legacy");
  });

  for (const which of ["P", "P+1"] as const) {
    test(`a program holding ${which} without sharing it: UserError naming the port, nothing left open`, async () => {
      const P = which === "P" ? 26120 : 26130;
      const busy = which === "P" ? P : P + 1;
      const hog = dgram.createSocket({ type: "udp4" });
      sockets.push(hog);
      hog.on("error", () => {});
      await new Promise<void>((resolve) => hog.bind(busy, resolve));
      const err = await member(P).catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toContain(`cannot bind UDP port ${busy}`);
      expect((err as UserError).message).toContain("EADDRINUSE");
      hog.close();
      sockets.pop();
      // The failed open released whatever it had bound: an exclusive bind of both works.
      await bindExclusive(P, P + 1);
    });
  }

  test("close: idempotent, sends after it reject, both ports released", async () => {
    const P = 26140;
    const a = await member(P);
    await a.t.close();
    await a.t.close();
    expect(a.t.send(bytes("late"))).rejects.toThrow("closed");
    expect(a.t.send(bytes("late"), "legacy")).rejects.toThrow("closed");
    await bindExclusive(P, P + 1);
  });
});

describe("memory hub", () => {
  const collect = (t: { onDatagram(h: (d: Datagram) => void): void }) => {
    const got: Datagram[] = [];
    t.onDatagram((d) => got.push(d));
    return got;
  };
  const flush = () => new Promise<void>((r) => setTimeout(r, 0));

  test("framed transports hear both channels, tagged; raw ones only legacy; raw sends are legacy", async () => {
    const hub = new MemoryHub();
    const a = hub.attach("198.18.0.1");
    const b = hub.attach("198.18.0.2");
    const r = hub.attach("198.18.0.3", { raw: true });
    const [ga, gb, gr] = [collect(a), collect(b), collect(r)];
    await a.send(bytes("F"));
    await a.send(bytes("L"), "legacy");
    await r.send(bytes("R"), "framed" as Channel);
    await flush();
    expect(seen(gb)).toEqual([
      ["F", "framed"],
      ["L", "legacy"],
      ["R", "legacy"],
    ]);
    expect(seen(gr)).toEqual([
      ["L", "legacy"],
      ["R", "legacy"],
    ]);
    expect(gr.map((d) => d.self)).toEqual([false, true]);
    expect(ga.map((d) => d.self)).toEqual([true, true, false]);
    expect(hub.sent.map((s) => s.channel)).toEqual(["framed", "legacy", "legacy"]);
  });
});
