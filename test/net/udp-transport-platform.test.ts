/**
 * The UDP transport's socket calls per platform, with fake sockets (no network): what
 * Linux, Windows and macOS bind, which interface argument each join/send call gets for
 * IPv4 and IPv6 groups, source-specific joins, one membership per interface, clean-up
 * when a join fails, and roomTransportOptions' mapping of a room's options.
 */
import { describe, expect, test } from "bun:test";
import type { NetworkInterfaceInfoIPv4 } from "node:os";
import type { NetInterface } from "../../src/config/options.ts";
import { UserError } from "../../src/errors.ts";
import { SendFailedError } from "../../src/net/transport.ts";
import {
  type CreateSocket,
  type DgramSocketLike,
  openUdpTransport,
  ROOM_RECV_BUFFER,
  roomTransportOptions,
  type TransportInterface,
  type UdpTransportOptions,
} from "../../src/net/udp-transport.ts";

type Listener = (...args: never[]) => void;

/** A socket that records every call as one line in `log` ("#n call args…"), and can be told to fail one. */
class FakeSocket implements DgramSocketLike {
  static log: string[] = [];
  /** `method` → errno code: that call throws (bind: emits 'error'). */
  static failures = new Map<string, string>();
  /** The n-th call of a failing method fails (1 = the first); earlier ones succeed. */
  static failOnCall = 1;
  static made: FakeSocket[] = [];
  static reset() {
    FakeSocket.log = [];
    FakeSocket.failures = new Map();
    FakeSocket.failOnCall = 1;
    FakeSocket.made = [];
  }
  readonly n: number;
  closed = false;
  port = 0;
  private listeners = new Map<string, Set<Listener>>();
  private calls = new Map<string, number>();
  constructor(
    readonly type: "udp4" | "udp6",
    readonly reuseAddr: boolean,
  ) {
    FakeSocket.made.push(this);
    this.n = FakeSocket.made.length;
    this.record("create", type, reuseAddr ? "reuse" : "exclusive");
  }
  private record(...parts: unknown[]) {
    FakeSocket.log.push(
      [`#${this.n}`, ...parts.map((p) => (p === undefined ? "-" : String(p)))].join(" "),
    );
  }
  private maybeFail(method: string) {
    const code = FakeSocket.failures.get(method);
    const count = (this.calls.get(method) ?? 0) + 1;
    this.calls.set(method, count);
    if (code && count >= FakeSocket.failOnCall) {
      throw Object.assign(new Error(`${method} ${code}`), { code });
    }
  }
  private emit(event: string, ...args: unknown[]) {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => void)(...args);
  }
  bind(options: { port: number; address?: string }, callback: () => void) {
    this.record("bind", options.port, options.address);
    const code = FakeSocket.failures.get("bind");
    queueMicrotask(() => {
      if (code) this.emit("error", Object.assign(new Error(`bind ${code}`), { code }));
      else {
        this.port = options.port || 40000 + this.n;
        callback();
      }
    });
  }
  on(event: string, listener: Listener) {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    this.listeners.set(event, set);
    set.add(listener);
    return this;
  }
  once(event: string, listener: Listener) {
    const once = ((...args: never[]) => {
      this.off(event, once);
      listener(...args);
    }) as Listener;
    return this.on(event, once);
  }
  off(event: string, listener: Listener) {
    this.listeners.get(event)?.delete(listener);
    return this;
  }
  addMembership(group: string, iface?: string) {
    this.record("addMembership", group, iface);
    this.maybeFail("addMembership");
  }
  dropMembership(group: string, iface?: string) {
    this.record("dropMembership", group, iface);
  }
  addSourceSpecificMembership(source: string, group: string, iface?: string) {
    this.record("addSSM", source, group, iface);
    this.maybeFail("addSourceSpecificMembership");
  }
  dropSourceSpecificMembership(source: string, group: string, iface?: string) {
    this.record("dropSSM", source, group, iface);
  }
  setMulticastInterface(iface: string) {
    this.record("setMulticastInterface", iface);
    this.maybeFail("setMulticastInterface");
  }
  setMulticastTTL(ttl: number) {
    this.record("setMulticastTTL", ttl);
  }
  setMulticastLoopback(on: boolean) {
    this.record("setMulticastLoopback", on);
  }
  setRecvBufferSize(size: number) {
    this.record("setRecvBufferSize", size);
  }
  getRecvBufferSize() {
    return 4242;
  }
  address() {
    return { address: "0.0.0.0", port: this.port };
  }
  send(msg: Uint8Array, port: number, address: string, cb: (err: Error | null) => void) {
    this.record("send", msg.length, port, address);
    const code = FakeSocket.failures.get("send");
    const err = code ? Object.assign(new Error(`send ${code} ${address}:${port}`), { code }) : null;
    queueMicrotask(() => cb(err));
  }
  close() {
    this.record("close");
    this.closed = true;
  }
  /** Delivers a datagram as the kernel would. */
  receive(data: string, address: string, port: number) {
    this.emit("message", Buffer.from(data), { address, port });
  }
}

const createSocket: CreateSocket = (o) => new FakeSocket(o.type, o.reuseAddr);

const ETH0_V4: TransportInterface = { name: "eth0", address: "198.18.0.1", index: 2 };
const ETH1_V4: TransportInterface = { name: "eth1", address: "198.18.1.1", index: 3 };
const ETH0_V6: TransportInterface = { name: "eth0", address: "fd00:18::1", index: 2 };
const ETH1_V6: TransportInterface = { name: "eth1", address: "fd00:18:1::1", index: 3 };

async function open(
  platform: NodeJS.Platform,
  o: Partial<UdpTransportOptions>,
  fail?: { method: string; code: string; onCall?: number },
) {
  FakeSocket.reset();
  if (fail) {
    FakeSocket.failures.set(fail.method, fail.code);
    FakeSocket.failOnCall = fail.onCall ?? 1;
  }
  return openUdpTransport({
    group: "239.1.2.3",
    port: 25000,
    ttl: 1,
    loopback: true,
    platform,
    createSocket,
    ...o,
  });
}

/** The log lines without the socket numbers, for one socket (#n) or all. */
const calls = (n?: number) =>
  FakeSocket.log.filter((l) => n === undefined || l.startsWith(`#${n} `));

describe("socket calls per platform", () => {
  test("linux, IPv4, two interfaces: receivers bound to the group, one membership per interface each; sending socket bound to the sending interface's address", async () => {
    const t = await open("linux", { joinOn: [ETH0_V4, ETH1_V4], sendOn: ETH0_V4, ttl: 3 });
    expect(calls()).toEqual([
      "#1 create udp4 reuse",
      "#2 create udp4 reuse",
      "#3 create udp4 exclusive",
      "#1 bind 25000 239.1.2.3",
      "#1 addMembership 239.1.2.3 198.18.0.1",
      "#1 addMembership 239.1.2.3 198.18.1.1",
      "#2 bind 25001 239.1.2.3",
      "#2 addMembership 239.1.2.3 198.18.0.1",
      "#2 addMembership 239.1.2.3 198.18.1.1",
      "#3 bind 0 198.18.0.1",
      "#3 setMulticastInterface 198.18.0.1",
      "#3 setMulticastTTL 3",
      "#3 setMulticastLoopback true",
    ]);
    expect(t.sendInterface).toBe("eth0 (198.18.0.1)");
    expect(t.joinedOn).toEqual(["eth0 (198.18.0.1)", "eth1 (198.18.1.1)"]);
    FakeSocket.log = [];
    await t.close();
    expect(calls()).toEqual([
      "#1 dropMembership 239.1.2.3 198.18.0.1",
      "#1 dropMembership 239.1.2.3 198.18.1.1",
      "#2 dropMembership 239.1.2.3 198.18.0.1",
      "#2 dropMembership 239.1.2.3 198.18.1.1",
      "#1 close",
      "#2 close",
      "#3 close",
    ]);
  });

  test("linux, IPv6: udp6 sockets bound to the group, interfaces as ::%name, sending socket on the wildcard", async () => {
    const t = await open("linux", {
      group: "ff15::1:2",
      joinOn: [ETH0_V6, ETH1_V6],
      sendOn: ETH1_V6,
      raw: true,
    });
    expect(calls()).toEqual([
      "#1 create udp6 reuse",
      "#2 create udp6 exclusive",
      "#1 bind 25000 ff15::1:2",
      "#1 addMembership ff15::1:2 ::%eth0",
      "#1 addMembership ff15::1:2 ::%eth1",
      "#2 bind 0 -",
      "#2 setMulticastInterface ::%eth1",
      "#2 setMulticastTTL 1",
      "#2 setMulticastLoopback true",
    ]);
    expect(t.sendInterface).toBe("eth1 (fd00:18:1::1)");
    await t.send(new Uint8Array(3));
    expect(calls().at(-1)).toBe("#2 send 3 25000 ff15::1:2");
  });

  for (const platform of ["win32", "darwin"] as const) {
    test(`${platform}, IPv4: receivers bound to the wildcard, interfaces by address`, async () => {
      await open(platform, { joinOn: [ETH0_V4], sendOn: ETH0_V4 });
      expect(calls().filter((l) => !l.includes("create"))).toEqual([
        "#1 bind 25000 0.0.0.0",
        "#1 addMembership 239.1.2.3 198.18.0.1",
        "#2 bind 25001 0.0.0.0",
        "#2 addMembership 239.1.2.3 198.18.0.1",
        "#3 bind 0 198.18.0.1",
        "#3 setMulticastInterface 198.18.0.1",
        "#3 setMulticastTTL 1",
        "#3 setMulticastLoopback true",
      ]);
    });
  }

  test("win32, IPv6: receivers bound to ::, interfaces by numeric index (::%index)", async () => {
    const t = await open("win32", {
      group: "ff15::1:2",
      joinOn: [ETH0_V6, ETH1_V6],
      sendOn: ETH0_V6,
    });
    expect(calls().filter((l) => !l.includes("create"))).toEqual([
      "#1 bind 25000 ::",
      "#1 addMembership ff15::1:2 ::%2",
      "#1 addMembership ff15::1:2 ::%3",
      "#2 bind 25001 ::",
      "#2 addMembership ff15::1:2 ::%2",
      "#2 addMembership ff15::1:2 ::%3",
      "#3 bind 0 -",
      "#3 setMulticastInterface ::%2",
      "#3 setMulticastTTL 1",
      "#3 setMulticastLoopback true",
    ]);
    expect(t.sendInterface).toBe("eth0 (fd00:18::1)");
  });

  test("win32, IPv6 interface without an index: one clear line, before any socket exists", async () => {
    const err = await open("win32", {
      group: "ff15::1:2",
      joinOn: [{ name: "Ethernet", address: "fd00:18::1" }],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      "interface Ethernet: its index is unknown, and IPv6 multicast on Windows needs it",
    );
    expect(FakeSocket.made).toHaveLength(0);
  });

  // Bun on macOS resolves the scope with if_nametoindex like on Linux: "::%4" would
  // silently mean the default interface.
  test("darwin, IPv6: receivers bound to ::, interfaces by name (::%name), no index needed", async () => {
    await open("darwin", {
      group: "ff15::1:2",
      joinOn: [{ name: "en0", address: "fd00:18::1" }],
      sendOn: { name: "en0", address: "fd00:18::1" },
    });
    expect(calls().filter((l) => !l.includes("create"))).toEqual([
      "#1 bind 25000 ::",
      "#1 addMembership ff15::1:2 ::%en0",
      "#2 bind 25001 ::",
      "#2 addMembership ff15::1:2 ::%en0",
      "#3 bind 0 -",
      "#3 setMulticastInterface ::%en0",
      "#3 setMulticastTTL 1",
      "#3 setMulticastLoopback true",
    ]);
  });

  test("linux, interface- and link-local IPv6 groups: bound with the one interface joined as scope, the wildcard with two", async () => {
    await open("linux", { group: "ff02::b:1", joinOn: [ETH0_V6], raw: true });
    expect(calls(1).filter((l) => l.includes("bind"))).toEqual(["#1 bind 25000 ff02::b:1%eth0"]);
    await open("linux", { group: "ff01::b:1", joinOn: [ETH0_V6, ETH1_V6], raw: true });
    expect(calls(1).filter((l) => l.includes("bind"))).toEqual(["#1 bind 25000 ::"]);
    await open("linux", { group: "ff15::b:1", joinOn: [ETH0_V6, ETH1_V6], raw: true });
    expect(calls(1).filter((l) => l.includes("bind"))).toEqual(["#1 bind 25000 ff15::b:1"]);
  });

  test("linux, no interfaces given: memberships and sending where the system chooses, no sending interface shown", async () => {
    const t = await open("linux", {});
    expect(calls().filter((l) => /Membership|Interface|bind/.test(l))).toEqual([
      "#1 bind 25000 239.1.2.3",
      "#1 addMembership 239.1.2.3 -",
      "#2 bind 25001 239.1.2.3",
      "#2 addMembership 239.1.2.3 -",
      "#3 bind 0 -",
    ]);
    expect(t.sendInterface).toBeUndefined();
    expect(t.joinedOn).toEqual([]);
    FakeSocket.log = [];
    await t.close();
    expect(calls().filter((l) => l.includes("drop"))).toEqual([
      "#1 dropMembership 239.1.2.3 -",
      "#2 dropMembership 239.1.2.3 -",
    ]);
  });

  test("an interface listed twice is joined once", async () => {
    await open("linux", { joinOn: [ETH0_V4, { ...ETH0_V4 }, ETH1_V4] });
    expect(calls(1).filter((l) => l.includes("addMembership"))).toEqual([
      "#1 addMembership 239.1.2.3 198.18.0.1",
      "#1 addMembership 239.1.2.3 198.18.1.1",
    ]);
  });
});

describe("source-specific joins", () => {
  test("IPv4 with two interfaces: one SSM membership per interface per socket, dropped on close", async () => {
    const t = await open("linux", {
      group: "232.1.2.3",
      source: "198.18.0.7",
      joinOn: [ETH0_V4, ETH1_V4],
    });
    expect(calls().filter((l) => l.includes("SSM") || l.includes("Membership"))).toEqual([
      "#1 addSSM 198.18.0.7 232.1.2.3 198.18.0.1",
      "#1 addSSM 198.18.0.7 232.1.2.3 198.18.1.1",
      "#2 addSSM 198.18.0.7 232.1.2.3 198.18.0.1",
      "#2 addSSM 198.18.0.7 232.1.2.3 198.18.1.1",
    ]);
    FakeSocket.log = [];
    await t.close();
    expect(calls().filter((l) => l.includes("SSM"))).toEqual([
      "#1 dropSSM 198.18.0.7 232.1.2.3 198.18.0.1",
      "#1 dropSSM 198.18.0.7 232.1.2.3 198.18.1.1",
      "#2 dropSSM 198.18.0.7 232.1.2.3 198.18.0.1",
      "#2 dropSSM 198.18.0.7 232.1.2.3 198.18.1.1",
    ]);
  });

  test("IPv6 on Windows and with no interface: the source and the group, numeric scope / no interface argument", async () => {
    await open("win32", { group: "ff35::1", source: "fd00:18::7", joinOn: [ETH0_V6] });
    expect(calls(1).filter((l) => l.includes("SSM"))).toEqual([
      "#1 addSSM fd00:18::7 ff35::1 ::%2",
    ]);
    await open("linux", { group: "ff35::1", source: "fd00:18::7" });
    expect(calls(1).filter((l) => l.includes("SSM"))).toEqual(["#1 addSSM fd00:18::7 ff35::1 -"]);
  });

  test("a source of the other family is one clear line (exit 2), no socket made", async () => {
    const err = await open("linux", { source: "fd00:18::7" }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      "source fd00:18::7 must be an IPv4 address like the group 239.1.2.3",
    );
    expect((err as UserError).exitCode).toBe(2);
    expect(FakeSocket.made).toHaveLength(0);
  });

  test("a refused SSM join (no kernel support) names the source and the interface; everything joined is dropped and closed", async () => {
    // The second join (eth1 on the first socket) fails.
    const opening = open(
      "linux",
      { source: "198.18.0.7", joinOn: [ETH0_V4, ETH1_V4] },
      { method: "addSourceSpecificMembership", code: "ENOPROTOOPT", onCall: 2 },
    );
    const err = await opening.catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      "cannot join group 239.1.2.3 from source 198.18.0.7 on eth1 (198.18.1.1): not supported by this system (ENOPROTOOPT)",
    );
    expect(calls().filter((l) => /SSM|close/.test(l))).toEqual([
      "#1 addSSM 198.18.0.7 239.1.2.3 198.18.0.1",
      "#1 addSSM 198.18.0.7 239.1.2.3 198.18.1.1",
      "#1 dropSSM 198.18.0.7 239.1.2.3 198.18.0.1",
      "#1 close",
      "#2 close",
      "#3 close",
    ]);
  });
});

describe("failures and received datagrams", () => {
  test("a sending interface the system refuses: UserError naming it, every socket closed", async () => {
    const opening = open(
      "linux",
      { group: "ff15::1", sendOn: ETH0_V6 },
      { method: "setMulticastInterface", code: "EADDRNOTAVAIL" },
    );
    const err = await opening.catch((e) => e);
    expect((err as UserError).message).toBe(
      "cannot send on eth0 (fd00:18::1): address not available on this host (EADDRNOTAVAIL)",
    );
    expect(FakeSocket.made.every((s) => s.closed)).toBe(true);
  });

  test("an interface the route chose (no --interface) the system cannot pin (qemu-user: ENOPROTOOPT): the system's choice, no error", async () => {
    const t = await open(
      "linux",
      { group: "239.1.2.3", sendOn: ETH0_V4, sendOnFromRoute: true },
      { method: "setMulticastInterface", code: "ENOPROTOOPT" },
    );
    expect(t.sendPort).toBeGreaterThan(0);
    await t.close();
    // The same refusal for an interface the user named is still an error.
    const named = await open(
      "linux",
      { group: "239.1.2.3", sendOn: ETH0_V4 },
      { method: "setMulticastInterface", code: "ENOPROTOOPT" },
    ).catch((e) => e);
    expect((named as UserError).message).toBe(
      "cannot send on eth0 (198.18.0.1): not supported by this system (ENOPROTOOPT)",
    );
  });

  test("a join without an interface that the kernel cannot place (ENODEV) names the fix", async () => {
    const err = await open(
      "linux",
      { group: "ff15::1" },
      { method: "addMembership", code: "ENODEV" },
    ).catch((e) => e);
    expect((err as UserError).message).toBe(
      "cannot join group ff15::1: no route to choose an interface by (pass --interface, or add a multicast or default route; see mcchat doctor) (ENODEV)",
    );
    const named = await open(
      "linux",
      { group: "ff15::1", joinOn: [ETH0_V6] },
      { method: "addMembership", code: "ENODEV" },
    ).catch((e) => e);
    expect((named as UserError).message).toBe(
      "cannot join group ff15::1 on eth0 (fd00:18::1): no such device (ENODEV)",
    );
  });

  test("a failed send rejects with one clear line naming the group and the errno", async () => {
    const t = await open("linux", { group: "ff15::1", joinOn: [{ name: "lo", address: "::1" }] });
    FakeSocket.failures.set("send", "ENETUNREACH");
    const err = await t.send(new Uint8Array(1)).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      "cannot send to ff15::1: no route to the group (is there a multicast route or default route?) (ENETUNREACH)",
    );
  });

  test("TTL 0 is refused by the transport (the room's options map 'this host only' to TTL 1)", async () => {
    const err = await open("linux", { ttl: 0 }).catch((e) => e);
    expect((err as UserError).message).toBe(
      "multicast TTL on the wire must be from 1 to 255, not 0",
    );
  });

  test("an IPv4 group joined on an interface with only an IPv6 address: one clear line", async () => {
    const err = await open("linux", { joinOn: [ETH0_V6] }).catch((e) => e);
    expect((err as UserError).message).toBe(
      "interface eth0 has no IPv4 address to join an IPv4 group with",
    );
  });

  test("our own datagrams are recognised by source port and address, an IPv6 scope suffix ignored", async () => {
    const t = await open("linux", {
      group: "ff15::1",
      localAddresses: ["fe80::1", "fd00:18::1"],
      recvBufferSize: 1 << 20,
    });
    const got: [string, boolean | undefined, string | undefined][] = [];
    t.onDatagram((d) => got.push([new TextDecoder().decode(d.data), d.self, d.channel]));
    const [legacy, framed] = FakeSocket.made as [FakeSocket, FakeSocket, FakeSocket];
    framed.receive("mine", "fe80::1%eth0", t.sendPort);
    framed.receive("theirs", "fe80::2%eth0", t.sendPort);
    legacy.receive("text", "fd00:18::1", t.sendPort + 1);
    expect(got).toEqual([
      ["mine", true, "framed"],
      ["theirs", false, "framed"],
      ["text", false, "legacy"],
    ]);
    expect(t.recvBufferSize).toBe(4242);
    expect(calls().filter((l) => l.includes("setRecvBufferSize"))).toHaveLength(2);
  });
});

describe("roomTransportOptions", () => {
  const interfaces: NetInterface[] = [
    { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
    { name: "lo", address: "::1", family: "IPv6", internal: true },
    { name: "eth1", address: "fd00:18:1::1", family: "IPv6", internal: false },
    { name: "eth0", address: "198.18.0.1", family: "IPv4", internal: false },
    { name: "eth0", address: "fd00:18::1", family: "IPv6", internal: false },
  ];
  const room = {
    group: "239.1.2.3",
    port: 25000,
    raw: false,
    ttl: 2,
    loopback: true,
    hostOnly: false,
  };

  test("interfaces, sending interface, source and TTL pass through; local addresses for self-detection", () => {
    const o = roomTransportOptions(
      { ...room, source: "198.18.0.7", ifaces: [ETH0_V4, ETH1_V4], sendIface: ETH0_V4 },
      interfaces,
    );
    expect(o).toEqual({
      group: "239.1.2.3",
      port: 25000,
      raw: false,
      source: "198.18.0.7",
      joinOn: [ETH0_V4, ETH1_V4],
      sendOn: ETH0_V4,
      ttl: 2,
      loopback: true,
      recvBufferSize: ROOM_RECV_BUFFER,
      localAddresses: [
        "0.0.0.0",
        "::",
        "127.0.0.1",
        "::1",
        "fd00:18:1::1",
        "198.18.0.1",
        "fd00:18::1",
      ],
    });
  });

  test("no interfaces: the system's choice for both", () => {
    const o = roomTransportOptions({ ...room, ifaces: [] }, interfaces);
    expect(o.joinOn).toEqual([]);
    expect(o.sendOn).toBeUndefined();
    expect("source" in o).toBe(false);
  });

  test("IPv4 this host only (TTL 0): TTL 1 on the wire, on the interfaces chosen (the loopback)", () => {
    const lo = { name: "lo", address: "127.0.0.1", index: 1 };
    const o = roomTransportOptions(
      { ...room, ttl: 0, hostOnly: true, ifaces: [lo], sendIface: lo },
      interfaces,
    );
    expect(o.ttl).toBe(1);
    expect(o.joinOn).toEqual([lo]);
    expect(o.sendOn).toEqual(lo);
  });

  test("IPv6 on Linux's loopback (which carries no IPv6 multicast) is one clear line; elsewhere it is passed on", () => {
    const lo6 = { name: "lo", address: "::1", index: 1 };
    const v6 = { ...room, group: "ff15::1", ifaces: [lo6], sendIface: lo6 };
    expect(() => roomTransportOptions(v6, interfaces, "linux")).toThrow(
      "interface lo: Linux does not carry IPv6 multicast over the loopback; choose another interface, or for this host only use --ttl 0 with an ff01:: group",
    );
    expect(roomTransportOptions(v6, interfaces, "darwin").joinOn).toEqual([lo6]);
    const lo4 = { name: "lo", address: "127.0.0.1" };
    expect(roomTransportOptions({ ...room, ifaces: [lo4] }, interfaces, "linux").joinOn).toEqual([
      lo4,
    ]);
  });

  test("IPv6 this host only: TTL 1 on the wire, on the interface options.ts chose to loop ff01:: through", () => {
    const eth1 = { name: "eth1", address: "fd00:18:1::1", index: 3 };
    const o = roomTransportOptions(
      { ...room, group: "ff01::1:2", ttl: 0, hostOnly: true, ifaces: [eth1], sendIface: eth1 },
      interfaces,
    );
    expect(o.ttl).toBe(1);
    expect(o.joinOn).toEqual([eth1]);
    expect(o.sendOn).toEqual(eth1);
  });
});

describe("the link goes down and comes back", () => {
  /** eth0's addresses as os.networkInterfaces() would list them (empty: the interface is gone). */
  let eth0: string[] = [];
  const networkInterfaces = () => ({
    eth0: eth0.map(
      (address): NetworkInterfaceInfoIPv4 => ({
        address,
        family: "IPv4",
        internal: false,
        netmask: "255.255.255.0",
        mac: "",
        cidr: null,
      }),
    ),
  });
  /** The poll's pending callbacks: run by hand (the scheduler passed in). */
  let pending: (() => void)[] = [];
  const schedule = (fn: () => void) => {
    pending.push(fn);
    return () => {
      pending = pending.filter((f) => f !== fn);
    };
  };
  /** Runs the poll once and lets its async re-pin finish. */
  const pollOnce = async () => {
    const run = pending;
    pending = [];
    for (const fn of run) fn();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await Bun.sleep(0);
  };
  const openPinned = (o: Partial<UdpTransportOptions> = {}) => {
    eth0 = ["198.18.0.1"];
    pending = [];
    return open("linux", {
      joinOn: [ETH0_V4],
      sendOn: ETH0_V4,
      networkInterfaces,
      schedule,
      ...o,
    });
  };
  const sinceOpen = (from: number) => FakeSocket.log.slice(from);

  test("a link error rejects with its code and the pinned interface, and starts the slow poll; a datagram error does not", async () => {
    const t = await openPinned();
    FakeSocket.failures.set("send", "EMSGSIZE");
    const big = await t.send(new Uint8Array(1)).catch((e) => e);
    expect(big).toBeInstanceOf(SendFailedError);
    expect((big as SendFailedError).code).toBe("EMSGSIZE");
    expect(pending.length).toBe(0);
    FakeSocket.failures.set("send", "ENETUNREACH");
    const down = await t.send(new Uint8Array(1)).catch((e) => e);
    expect(down).toBeInstanceOf(SendFailedError);
    expect([(down as SendFailedError).code, (down as SendFailedError).via]).toEqual([
      "ENETUNREACH",
      "eth0",
    ]);
    await t.send(new Uint8Array(1)).catch(() => {});
    expect(pending.length).toBe(1); // one poll, however many sends fail
    await t.close();
    expect(pending.length).toBe(0); // closing stops it
  });

  test("back on the same address (a re-created interface): pinned again on the same socket, memberships re-joined where dropped", async () => {
    const t = await openPinned();
    FakeSocket.failures.set("send", "ENETUNREACH");
    await t.send(new Uint8Array(1)).catch(() => {});
    // Gone: the poll finds nothing to pin to and keeps polling.
    eth0 = [];
    const mark = FakeSocket.log.length;
    await pollOnce();
    expect(sinceOpen(mark)).toEqual([]);
    expect(pending.length).toBe(1);
    // Back, with the same address: IP_MULTICAST_IF again (finds the new index), and a join on
    // each receiving socket (which the kernel refuses with EADDRINUSE where still joined).
    eth0 = ["198.18.0.1"];
    await pollOnce();
    expect(sinceOpen(mark)).toEqual([
      "#3 setMulticastInterface 198.18.0.1",
      "#1 addMembership 239.1.2.3 198.18.0.1",
      "#2 addMembership 239.1.2.3 198.18.0.1",
    ]);
    expect(t.rejoined).toBe(2);
    expect(t.repinned).toBe(0);
    // Sending works again: the poll stops; memberships still held are not joined twice.
    FakeSocket.failures.set("addMembership", "EADDRINUSE");
    FakeSocket.failures.delete("send");
    await t.send(new Uint8Array(1));
    expect(pending.length).toBe(0);
    expect(t.rejoined).toBe(2);
    await t.close();
  });

  test("back on a new IPv4 address: a new sending socket bound to it and pinned, the old one closed, our datagrams still recognised", async () => {
    const t = await openPinned({ localAddresses: ["198.18.0.1"] });
    const oldPort = t.sendPort;
    FakeSocket.failures.set("send", "EADDRNOTAVAIL");
    await t.send(new Uint8Array(1)).catch(() => {});
    eth0 = ["198.18.0.9"];
    const mark = FakeSocket.log.length;
    await pollOnce();
    expect(sinceOpen(mark).filter((l) => !l.includes("Membership"))).toEqual([
      "#4 create udp4 exclusive",
      "#4 bind 0 198.18.0.9",
      "#4 setMulticastInterface 198.18.0.9",
      "#4 setMulticastTTL 1",
      "#4 setMulticastLoopback true",
      "#3 close",
    ]);
    expect(sinceOpen(mark).filter((l) => l.includes("Membership"))).toEqual([
      "#1 addMembership 239.1.2.3 198.18.0.9",
      "#2 addMembership 239.1.2.3 198.18.0.9",
    ]);
    expect(t.repinned).toBe(1);
    expect(t.sendPort).not.toBe(oldPort);
    FakeSocket.failures.delete("send");
    await t.send(new Uint8Array(1));
    expect(FakeSocket.log.filter((l) => l.includes(" send ")).at(-1)).toBe(
      "#4 send 1 25001 239.1.2.3",
    );
    const got: boolean[] = [];
    t.onDatagram((d) => got.push(d.self === true));
    (FakeSocket.made[1] as FakeSocket).receive("mine", "198.18.0.9", t.sendPort);
    expect(got).toEqual([true]);
    await t.close();
    expect(FakeSocket.made.every((s) => s.closed)).toBe(true);
  });

  test("joined where the system chose (no -i): the pinned sending interface is where memberships are re-joined", async () => {
    const t = await openPinned({ joinOn: [] });
    FakeSocket.failures.set("send", "ENETDOWN");
    await t.send(new Uint8Array(1)).catch(() => {});
    FakeSocket.failures.delete("send");
    const mark = FakeSocket.log.length;
    await t.send(new Uint8Array(1));
    expect(sinceOpen(mark)).toEqual([
      "#3 send 1 25001 239.1.2.3",
      "#1 addMembership 239.1.2.3 198.18.0.1",
      "#2 addMembership 239.1.2.3 198.18.0.1",
    ]);
    await t.close();
  });
});
