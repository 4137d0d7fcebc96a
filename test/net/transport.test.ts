/**
 * The UDP transport on this namespace's loopback (224.0.0.0/4 routed to lo by
 * scripts/test.ts): a room's two ports, channels, self-detection, errors and close;
 * over two veth links to a peer namespace (root only): joins on one or two interfaces,
 * the sending interface, source-specific joins and IPv6 groups (Linux's lo carries no
 * IPv6 multicast), and "this host only" rooms; and the in-memory hub's model of the
 * same (test/helpers/memory-net.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { validateOptions } from "../../src/config/options.ts";
import { UserError } from "../../src/errors.ts";
import { listInterfaces } from "../../src/net/interfaces.ts";
import type { Channel, Datagram } from "../../src/net/transport.ts";
import {
  openUdpTransport,
  roomTransportOptions,
  type TransportInterface,
  type UdpTransport,
  type UdpTransportOptions,
} from "../../src/net/udp-transport.ts";
import { waitFor } from "../helpers/events.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import {
  assertPrivateNetns,
  canCreateLab,
  LAB_SKIP_REASON,
  type Proc,
  run,
  spawnProc,
} from "../helpers/netns.ts";

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

// ---- two veth links to a peer namespace ----
//
//   this namespace                      peer namespace (mccBpeer)
//   mccB0 198.18.210.1, fd00:18:210::1 ── eth0 198.18.210.2 + .3, fd00:18:210::2 + ::3
//   mccB1 198.18.211.1, fd00:18:211::1 ── eth1 198.18.211.2,      fd00:18:211::2
//
// The peer's senders and listeners are small node:dgram programs (PEER_PROGRAM). Each test
// that expects silence from one sender waits for a stream from another that runs at the
// same time: no fixed sleep decides.

const PEER = "mccBpeer";
/** Per-test bound for the peer tests: far above their waits (10 s each), never the deciding limit. */
const PEER_TEST_TIMEOUT = 60_000;
const IP = Bun.which("ip") ?? "/usr/sbin/ip";
const B0: TransportInterface = { name: "mccB0", address: "198.18.210.1" };
const B1: TransportInterface = { name: "mccB1", address: "198.18.211.1" };
const B0_6: TransportInterface = { name: "mccB0", address: "fd00:18:210::1" };
const B1_6: TransportInterface = { name: "mccB1", address: "fd00:18:211::1" };

/** M=send: datagrams "T n" every 20 ms from address B on interface I; M=recv: joined on each of I (comma list), prints "address text". */
const PEER_PROGRAM = `
const dgram = require("node:dgram");
const e = process.env;
const s = dgram.createSocket({ type: e.G.includes(":") ? "udp6" : "udp4", reuseAddr: true });
s.on("error", (err) => console.log("error " + err.message));
if (e.M === "send") {
  s.bind({ port: 0, address: e.B }, () => {
    s.setMulticastInterface(e.I);
    s.setMulticastTTL(1);
    let n = 0;
    setInterval(() => s.send(e.T + " " + n++, Number(e.P), e.G), 20);
    console.log("ready");
  });
} else {
  s.bind({ port: Number(e.P), address: e.G }, () => {
    for (const i of e.I.split(",")) s.addMembership(e.G, i);
    s.on("message", (m, r) => console.log(r.address + " " + m));
    console.log("ready");
  });
}
`;

async function sh(lines: string[]): Promise<void> {
  const r = await run(["sh", "-ec", lines.join("\n")], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`setup failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
}

async function peer(env: Record<string, string>): Promise<Proc> {
  const p = spawnProc([IP, "netns", "exec", PEER, process.execPath, "-e", PEER_PROGRAM], { env });
  await p.waitForLine(/^ready$/, 10_000);
  return p;
}

/** A peer program sending "tag n" to group:port from `from` on the peer's interface `iface` (IPv4: its address; IPv6: ::%eth0). */
const peerSend = (tag: string, group: string, port: number, from: string, iface: string) =>
  peer({ M: "send", T: tag, G: group, P: String(port), B: from, I: iface });

/** A peer program joined to group:port on each of `ifaces`, printing "address text" lines. */
const peerListen = (group: string, port: number, ifaces: string[]) =>
  peer({ M: "recv", G: group, P: String(port), I: ifaces.join(",") });

/** A raw (one-port) transport in this namespace, collecting what it hears. */
async function listener(o: Partial<UdpTransportOptions> & { group: string; port: number }) {
  const t = await openUdpTransport({ raw: true, ttl: 1, loopback: true, ...o });
  open.push(t);
  const got: Datagram[] = [];
  t.onDatagram((d) => got.push(d));
  return { t, got };
}

const from = (got: Datagram[], tag: string) => got.filter((d) => text(d).startsWith(`${tag} `));
const peerLines = (p: Proc, tag: string) => p.lines().filter((l) => l.split(" ")[1] === tag);

describe.skipIf(!canCreateLab())(
  canCreateLab()
    ? "udp transport on two links to a peer namespace"
    : `udp transport on two links to a peer namespace [skipped: ${LAB_SKIP_REASON}]`,
  () => {
    const peers: Proc[] = [];
    const started = async (p: Promise<Proc>) => {
      const proc = await p;
      peers.push(proc);
      return proc;
    };
    afterEach(async () => {
      await Promise.all(peers.splice(0).map((p) => p.stop(500)));
    });
    beforeAll(async () => {
      const inPeer = (cmd: string) => `${IP} -n ${PEER} ${cmd}`;
      await sh([
        `${IP} netns add ${PEER}`,
        `${IP} netns exec ${PEER} sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad'`,
        inPeer("link set lo up"),
        `${IP} link add mccB0 type veth peer name eth0 netns ${PEER}`,
        `${IP} link add mccB1 type veth peer name eth1 netns ${PEER}`,
        `${IP} addr add 198.18.210.1/24 dev mccB0`,
        `${IP} -6 addr add fd00:18:210::1/64 dev mccB0 nodad`,
        `${IP} addr add 198.18.211.1/24 dev mccB1`,
        `${IP} -6 addr add fd00:18:211::1/64 dev mccB1 nodad`,
        `${IP} link set mccB0 up`,
        `${IP} link set mccB1 up`,
        inPeer("addr add 198.18.210.2/24 dev eth0"),
        inPeer("addr add 198.18.210.3/24 dev eth0"),
        inPeer("-6 addr add fd00:18:210::2/64 dev eth0 nodad"),
        inPeer("-6 addr add fd00:18:210::3/64 dev eth0 nodad"),
        inPeer("addr add 198.18.211.2/24 dev eth1"),
        inPeer("-6 addr add fd00:18:211::2/64 dev eth1 nodad"),
        inPeer("link set eth0 up"),
        inPeer("link set eth1 up"),
      ]);
    });
    afterAll(async () => {
      await run([
        "sh",
        "-c",
        `${IP} netns del ${PEER}; ${IP} link del mccB0; ${IP} link del mccB1`,
      ]);
    });

    for (const v6 of [false, true]) {
      const fam = v6 ? "IPv6" : "IPv4";
      const group = v6 ? "ff15::b:1" : "239.1.121.1";
      const [i0, i1] = v6 ? [B0_6, B1_6] : [B0, B1];
      const [src0, src1] = v6
        ? ["fd00:18:210::2", "fd00:18:211::2"]
        : ["198.18.210.2", "198.18.211.2"];
      const [if0, if1] = v6 ? ["::%eth0", "::%eth1"] : [src0, src1];

      test(
        `${fam}: joined on one interface, hears the sender on it and not the one on the other; joined on both, hears both`,
        async () => {
          const P = v6 ? 26210 : 26200;
          await started(peerSend("s0", group, P, src0, if0));
          await started(peerSend("s1", group, P, src1, if1));
          const one = await listener({ group, port: P, joinOn: [i0] });
          await waitFor(
            () => from(one.got, "s0").length >= 25,
            10_000,
            "25 datagrams from the sender on eth0",
          );
          expect(from(one.got, "s1")).toHaveLength(0);
          expect(new Set(from(one.got, "s0").map((d) => d.address))).toEqual(new Set([src0]));
          await one.t.close();
          const both = await listener({ group, port: P, joinOn: [i0, i1] });
          expect(both.t.joinedOn).toEqual([`mccB0 (${i0.address})`, `mccB1 (${i1.address})`]);
          await waitFor(
            () => from(both.got, "s0").length >= 5 && from(both.got, "s1").length >= 5,
            10_000,
            "datagrams from both senders",
          );
          expect(new Set(from(both.got, "s1").map((d) => d.address))).toEqual(new Set([src1]));
        },
        PEER_TEST_TIMEOUT,
      );

      test(
        `${fam}: datagrams leave by the sending interface, from its address, whichever interfaces are joined`,
        async () => {
          const P = v6 ? 26230 : 26220;
          // The peer hears only what arrives on its eth0 (the link to mccB0).
          const onEth0 = await started(peerListen(group, P, [v6 ? "::%eth0" : "198.18.210.2"]));
          const viaB1 = await listener({ group, port: P, joinOn: [i0, i1], sendOn: i1 });
          const viaB0 = await listener({ group, port: P, joinOn: [i0, i1], sendOn: i0 });
          expect(viaB1.t.sendInterface).toBe(`mccB1 (${i1.address})`);
          expect(viaB0.t.sendInterface).toBe(`mccB0 (${i0.address})`);
          for (let n = 0; n < 20; n++) {
            await viaB1.t.send(bytes(`b1 ${n}`));
            await viaB0.t.send(bytes(`b0 ${n}`));
          }
          await waitFor(
            () => peerLines(onEth0, "b0").length === 20,
            10_000,
            "20 datagrams sent on mccB0",
            [onEth0],
          );
          expect(peerLines(onEth0, "b1")).toEqual([]);
          expect(new Set(peerLines(onEth0, "b0").map((l) => l.split(" ")[0]))).toEqual(
            new Set([i0.address]),
          );
        },
        PEER_TEST_TIMEOUT,
      );

      test(
        `${fam}: a source-specific join hears only the chosen sender; an any-source join hears both`,
        async () => {
          const P = v6 ? 26250 : 26240;
          const [a, b] = v6
            ? ["fd00:18:210::2", "fd00:18:210::3"]
            : ["198.18.210.2", "198.18.210.3"];
          await started(peerSend("a", group, P, a, if0));
          await started(peerSend("b", group, P, b, if0));
          const ssm = await listener({ group, port: P, joinOn: [i0], source: b });
          await waitFor(
            () => from(ssm.got, "b").length >= 25,
            10_000,
            "25 datagrams from the chosen source",
          );
          expect(from(ssm.got, "a")).toHaveLength(0);
          expect(new Set(from(ssm.got, "b").map((d) => d.address))).toEqual(new Set([b]));
          await ssm.t.close();
          const any = await listener({ group, port: P, joinOn: [i0] });
          await waitFor(
            () => from(any.got, "a").length >= 5 && from(any.got, "b").length >= 5,
            10_000,
            "datagrams from both sources",
          );
        },
        PEER_TEST_TIMEOUT,
      );
    }

    test(
      "IPv6 members on one host: both channels, their own datagrams flagged, and a member elsewhere hears the frames",
      async () => {
        const P = 26260;
        const group = "ff15::b:2";
        const elsewhere = await started(peerListen(group, P + 1, ["::%eth0"]));
        const local = ["::", ...listInterfaces().map((i) => i.address)];
        const o = {
          group,
          port: P,
          ttl: 1,
          loopback: true,
          joinOn: [B0_6],
          sendOn: B0_6,
          localAddresses: local,
        };
        const a = await openUdpTransport(o);
        const b = await openUdpTransport(o);
        open.push(a, b);
        const ga: Datagram[] = [];
        const gb: Datagram[] = [];
        a.onDatagram((d) => ga.push(d));
        b.onDatagram((d) => gb.push(d));
        await a.send(bytes("F1"));
        await a.send(bytes("L1"), "legacy");
        await waitFor(
          () => gb.length === 2 && ga.length === 2,
          5000,
          "both channels, both members",
        );
        expect(seen(gb).sort()).toEqual([
          ["F1", "framed"],
          ["L1", "legacy"],
        ]);
        expect(
          gb.every((d) => d.address === "fd00:18:210::1" && d.port === a.sendPort && !d.self),
        ).toBe(true);
        expect(ga.every((d) => d.self)).toBe(true);
        await waitFor(
          () => elsewhere.lines().includes("fd00:18:210::1 F1"),
          5000,
          "the frame on the peer",
          [elsewhere],
        );
      },
      PEER_TEST_TIMEOUT,
    );

    test(
      "this host only (TTL 0) through roomTransportOptions: IPv4 on the loopback, IPv6 on an interface-local group that never reaches the link",
      async () => {
        const interfaces = listInterfaces();
        const room = { port: 26270, raw: true, ttl: 0 };
        const rxPackets = async () => {
          const r = await run([
            IP,
            "netns",
            "exec",
            PEER,
            "cat",
            "/sys/class/net/eth0/statistics/rx_packets",
          ]);
          return Number(r.stdout.trim());
        };
        // As mcchat joins: options.ts picks the interfaces (the loopback for IPv4, a real
        // interface to loop ff01:: through for IPv6), roomTransportOptions maps them.
        for (const group of ["239.1.121.9", "ff01::b:9"]) {
          const opts = validateOptions(
            { ...room, group, port: String(room.port) },
            { interfaces, defaultNick: "t" },
          );
          const o = roomTransportOptions(opts, interfaces);
          expect(o.ttl).toBe(1);
          const a = await listener(o);
          const b = await listener(o);
          const before = await rxPackets();
          for (let n = 0; n < 100; n++) await a.t.send(bytes(`h ${n}`));
          await waitFor(
            () => from(b.got, "h").length === 100,
            5000,
            `100 datagrams to ${group} on this host`,
          );
          // A few MLD/IGMP reports may cross; 100 datagrams would not go unnoticed.
          expect((await rxPackets()) - before).toBeLessThan(50);
        }
        // The counter does see datagrams that do cross: the same burst to a site-local group.
        const wide = await listener({
          group: "ff15::b:9",
          port: 26270,
          joinOn: [B0_6],
          sendOn: B0_6,
        });
        const before = await rxPackets();
        for (let n = 0; n < 100; n++) await wide.t.send(bytes(`w ${n}`));
        const deadline = Date.now() + 5000;
        while ((await rxPackets()) - before < 100) {
          if (Date.now() > deadline)
            throw new Error("the ff15 burst never reached the peer's eth0");
          await Bun.sleep(20);
        }
      },
      PEER_TEST_TIMEOUT,
    );
  },
);

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
