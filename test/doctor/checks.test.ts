import { expect, test } from "bun:test";
import {
  checkInterfaces,
  checkJoin,
  checkLoopback,
  checkMembership,
  checkRecvBuffer,
  checkRoute,
  checkRpFilter,
  type DoctorRoom,
  describeInterfaces,
} from "../../src/doctor/checks.ts";
import {
  IGMP,
  INTERFACES,
  linuxHost,
  otherHost,
  ROUTE_DEFAULT_ONLY,
  ROUTE_SUBNET_ONLY,
} from "./fixtures.ts";

const room = (over: Partial<DoctorRoom> = {}): DoctorRoom => ({
  group: "239.1.100.1",
  family: "IPv4",
  port: 25000,
  ttl: 1,
  ifaces: [],
  hostOnly: false,
  ...over,
});
const v6 = (over: Partial<DoctorRoom> = {}) => room({ group: "ff15::1", family: "IPv6", ...over });
const eth0 = { name: "eth0", address: "198.18.0.1" };

test("interfaces: flags and index from sysfs, addresses from the system", () => {
  const infos = describeInterfaces(linuxHost());
  expect(infos.map((i) => [i.name, i.index, i.up, i.multicast, i.loopback])).toEqual([
    ["lo", 1, true, false, true],
    ["eth1", 2, true, true, false],
    ["eth0", 3, true, true, false],
  ]);
  expect(infos[2]?.addresses).toContain("198.18.0.1");
  const c = checkInterfaces(room(), linuxHost());
  expect(c).toMatchObject({ status: "ok", summary: "1 interface can carry the room: eth0" });
  expect(c.details).toContain(
    "eth0 (3) up multicast: 198.18.0.1, fd00:18::1, fe80::48:46ff:fe46:4822",
  );
  // IPv6: eth1 has a link-local address, so it can carry an IPv6 room too.
  expect(checkInterfaces(v6(), linuxHost()).summary).toBe(
    "2 interfaces can carry the room: eth1, eth0",
  );
});

test("interfaces: a down --interface fails, one without MULTICAST warns, with the command to fix it", () => {
  const down = linuxHost({ "/sys/class/net/eth0/flags": "0x1002" });
  expect(checkInterfaces(room({ ifaces: [eth0] }), down)).toMatchObject({
    status: "fail",
    fix: "ip link set eth0 up, or pass another --interface",
  });
  const noMc = linuxHost({ "/sys/class/net/eth0/flags": "0x3" });
  expect(checkInterfaces(room({ ifaces: [eth0] }), noMc)).toMatchObject({
    status: "warn",
    fix: "ip link set eth0 multicast on",
  });
  expect(checkInterfaces(room(), noMc)).toMatchObject({
    status: "warn",
    summary: "eth0 can carry the room, but eth0 has no MULTICAST flag",
  });
  expect(checkInterfaces(room({ ifaces: [eth0] }), linuxHost()).status).toBe("ok");
  // The loopback carries multicast without the flag (--ttl 0 rooms).
  const lo = { name: "lo", address: "127.0.0.1" };
  expect(checkInterfaces(room({ ifaces: [lo], ttl: 0, hostOnly: true }), linuxHost()).status).toBe(
    "ok",
  );
});

test("interfaces: only loopback is a warning (this host only), not with --ttl 0", () => {
  const lonely = linuxHost({}, [
    { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  ]);
  const noEth = linuxHost({
    "/sys/class/net/eth0/flags": "0x1002",
    "/sys/class/net/eth1/flags": "0x1002",
  });
  for (const p of [lonely, noEth]) {
    const c = checkInterfaces(room(), p);
    expect(c.status).toBe("warn");
    expect(c.fix).toContain("--ttl 0");
  }
  expect(checkInterfaces(room({ ttl: 0, hostOnly: true }), lonely).status).toBe("ok");
});

test("interfaces: a sysfs of another network namespace is not trusted", () => {
  const foreign = linuxHost({ "/sys/class/net/wlan0/flags": "0x1003" });
  const infos = describeInterfaces(foreign);
  expect(infos.every((i) => i.multicast === undefined)).toBe(true);
  expect(checkInterfaces(room(), foreign).details.at(-1)).toContain("another network namespace");
});

test("route: the multicast route, the default route, none", () => {
  expect(checkRoute(room(), linuxHost())).toMatchObject({
    status: "ok",
    summary: "239.1.100.1 → 224.0.0.0/4 dev eth0",
  });
  const viaDefault = checkRoute(room(), linuxHost({ "/proc/net/route": ROUTE_DEFAULT_ONLY }));
  expect(viaDefault.status).toBe("ok");
  expect(viaDefault.summary).toBe(
    "239.1.100.1 → 0.0.0.0/0 via 198.18.0.254 dev eth0 metric 100 (the default route)",
  );
  expect(viaDefault.details[0]).toContain("gateway 198.18.0.254 is not used");
  const none = checkRoute(room(), linuxHost({ "/proc/net/route": ROUTE_SUBNET_ONLY }));
  expect(none.status).toBe("fail");
  expect(none.summary).toContain("no route for 239.1.100.1");
  expect(none.fix).toBe("add one (ip route add 224.0.0.0/4 dev eth0) or pass --interface eth0");
});

test("route: other interfaces that could carry the room are named, with -i all", () => {
  const both = linuxHost({}, [
    ...INTERFACES,
    { name: "eth1", address: "198.19.0.1", family: "IPv4", internal: false },
  ]);
  const c = checkRoute(room(), both);
  expect(c.status).toBe("ok");
  expect(c.details).toEqual([
    "eth1 can carry multicast too, but the room is joined on eth0 only: -i all joins every interface",
  ]);
});

test("route: --interface and --ttl 0 do not need the table", () => {
  const p = linuxHost({ "/proc/net/route": ROUTE_SUBNET_ONLY });
  const c = checkRoute(room({ ifaces: [eth0] }), p);
  expect(c.status).toBe("ok");
  expect(c.details).toEqual(["without --interface there would be no route for 239.1.100.1"]);
  expect(checkRoute(room({ ttl: 0, hostOnly: true }), p).status).toBe("ok");
});

test("route: to a loopback, down or non-multicast device", () => {
  const head = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n";
  const loRoute = `${head}lo\t000000E0\t00000000\t0001\t0\t0\t0\t000000F0\n`;
  const toLo = linuxHost({ "/proc/net/route": loRoute, "/sys/class/net/lo/flags": "0x1009" });
  for (const p of [toLo, linuxHost({ "/proc/net/route": loRoute })]) {
    expect(checkRoute(room(), p)).toMatchObject({
      status: "warn",
      fix: "ip route replace 224.0.0.0/4 dev eth0, or pass --interface eth0 (or --ttl 0 if this host only is meant)",
    });
  }
  // Without MULTICAST the route still works (Linux): "interfaces" warns about the flag.
  const noMc = linuxHost({ "/sys/class/net/eth0/flags": "0x3" });
  expect(checkRoute(room(), noMc).status).toBe("ok");
  const down = linuxHost({ "/sys/class/net/eth0/flags": "0x1002" });
  expect(checkRoute(room(), down)).toMatchObject({ status: "fail", fix: "ip link set eth0 up" });
});

test("route: IPv6 ff00::/8 on several interfaces is a warning naming --interface", () => {
  const c = checkRoute(v6(), linuxHost());
  expect(c.status).toBe("warn");
  expect(c.summary).toContain("ff00::/8 is on eth0 too");
  expect(c.fix).toContain("--interface");
  expect(
    checkRoute(v6({ ifaces: [{ name: "eth0", address: "fd00:18::1" }] }), linuxHost()).status,
  ).toBe("ok");
});

test("membership: the group on the expected interface, elsewhere, or missing", () => {
  expect(checkMembership(room(), linuxHost(), true)).toMatchObject({
    status: "ok",
    summary: "239.1.100.1 joined on eth0 (/proc/net/igmp)",
    details: ["eth0: 2 sockets"],
  });
  expect(
    checkMembership(v6({ ifaces: [{ name: "eth0", address: "fd00:18::1" }] }), linuxHost(), true)
      .status,
  ).toBe("ok");
  const onLo = IGMP.replace("\t\t\t\t016401EF     2 0:00000000\t\t0\n", "").replace(
    "1\tlo        :     1      V3\n",
    "1\tlo        :     2      V3\n\t\t\t\t016401EF     2 0:00000000\t\t0\n",
  );
  const elsewhere = checkMembership(room(), linuxHost({ "/proc/net/igmp": onLo }), true);
  expect(elsewhere).toMatchObject({
    status: "warn",
    fix: "pass --interface eth0 so that the join and the sends use one interface",
  });
  const missing = checkMembership(room({ group: "239.9.9.9" }), linuxHost(), true);
  expect(missing.status).toBe("fail");
  const noMc = linuxHost({
    "/sys/class/net/eth0/flags": "0x3",
    "/proc/net/igmp": IGMP.replace("\t\t\t\t016401EF     2 0:00000000\t\t0\n", ""),
  });
  expect(checkMembership(room({ ifaces: [eth0] }), noMc, true)).toMatchObject({
    status: "fail",
    fix: "the kernel did not keep the membership: pass --interface; ip link set eth0 multicast on, and see ip maddr show",
  });
  expect(checkMembership(room(), linuxHost(), false).status).toBe("skip");
});

test("membership: --source on an interface that speaks IGMPv2 warns", () => {
  const v2 = linuxHost({
    "/proc/net/igmp": IGMP.replace("3\teth0      :     2      V3", "3\teth0      :     2      V2"),
  });
  const ssm = room({ source: "198.18.0.2" });
  expect(checkMembership(ssm, v2, true)).toMatchObject({
    status: "warn",
    summary: "239.1.100.1 joined on eth0, but eth0 speaks IGMPv2: --source needs IGMPv3",
    fix: "sudo sysctl -w net.ipv4.conf.eth0.force_igmp_version=3, and ask for an IGMPv3 querier on the network",
  });
  expect(checkMembership(room(), v2, true).status).toBe("ok");
  expect(checkMembership(ssm, linuxHost(), true).status).toBe("ok");
});

test("recv-buffer: rmem_max below 8 MiB warns with the sysctl", () => {
  expect(checkRecvBuffer(linuxHost()).status).toBe("ok");
  const small = checkRecvBuffer(linuxHost({ "/proc/sys/net/core/rmem_max": "212992\n" }), 425984);
  expect(small.status).toBe("warn");
  expect(small.summary).toContain("208 KiB");
  expect(small.details).toEqual([
    "the room's socket got 208 KiB (the kernel reports 416 KiB: it doubles the size)",
  ]);
  expect(small.fix).toStartWith("sudo sysctl -w net.core.rmem_max=8388608");
});

test("join failures name a fix", () => {
  const ok = checkJoin(room(), undefined, {
    sendInterface: "eth0 (198.18.0.1)",
    joinedOn: ["eth0 (198.18.0.1)", "eth1 (198.19.0.1)"],
  });
  expect(ok.summary).toBe("joined 239.1.100.1 on ports 25000 (legacy text) and 25001 (frames)");
  expect(ok.details).toEqual([
    "joined on eth0 (198.18.0.1), eth1 (198.19.0.1)",
    "sending on eth0 (198.18.0.1)",
  ]);
  expect(checkJoin(room(), undefined).details).toEqual([
    "joined on the interface the system picks (the route)",
    "sending on the interface the system picks (the route)",
  ]);
  const nodev = checkJoin(
    room(),
    "join group 239.1.100.1: no such device (ENODEV)",
    undefined,
    "eth0",
  );
  expect(nodev).toMatchObject({
    status: "fail",
    fix: "add a route (ip route add 224.0.0.0/4 dev eth0) or pass --interface eth0",
  });
  expect(
    checkJoin(
      room(),
      "bind UDP port 25000: in use by a program that does not share it (SO_REUSEADDR)",
    ).fix,
  ).toContain("ss -ulpn");
});

test("loopback: heard back, or what may drop it", () => {
  expect(checkLoopback(room(), { sent: 1, ms: 0.4, errors: [], waitedMs: 3000 }).summary).toBe(
    "our own datagram came back through the group in <1 ms",
  );
  const lost = checkLoopback(room(), { sent: 12, errors: [], waitedMs: 3000 });
  expect(lost.status).toBe("fail");
  expect(lost.summary).toBe("sent 12 datagrams to 239.1.100.1:25001, none came back in 3.0 s");
  expect(lost.fix).toContain("firewall");
  const unreachable = checkLoopback(room(), {
    sent: 3,
    errors: ["send ENETUNREACH"],
    waitedMs: 1000,
  });
  expect(unreachable.fix).toContain("ip route add 224.0.0.0/4");
  expect(checkLoopback(room(), undefined).status).toBe("skip");
  expect(
    checkLoopback(room({ source: "198.18.0.2" }), { sent: 0, errors: [], waitedMs: 3000 }),
  ).toMatchObject({
    status: "skip",
    summary: "--source: only 198.18.0.2 is heard, so our own datagram cannot come back (not sent)",
  });
});

test("Windows: the index comes from the system's listing (IPv6 scope id)", () => {
  const win = otherHost("win32");
  const withIndex = {
    ...win,
    interfaces: win.interfaces.map((i) => (i.name === "eth0" ? { ...i, index: 12 } : i)),
  };
  expect(describeInterfaces(withIndex).find((i) => i.name === "eth0")?.index).toBe(12);
  expect(describeInterfaces(withIndex).find((i) => i.name === "eth0")?.multicast).toBeUndefined();
});

test("macOS and Windows: the /proc checks say they are unavailable, they do not fail", () => {
  for (const name of ["darwin", "win32"] as const) {
    const p = otherHost(name);
    expect(checkRoute(room(), p).status).toBe("skip");
    expect(checkRoute(room(), p).summary).toContain(
      name === "darwin" ? "route -n get 239.1.100.1" : "route print",
    );
    expect(checkMembership(room(), p, true).status).toBe("skip");
    expect(checkRecvBuffer(p, 1 << 20).status).toBe("skip");
    const i = checkInterfaces(room(), p);
    expect(i.status).toBe("ok");
    expect(i.details.at(-1)).toContain(`Linux only; this is ${name}`);
  }
});

test("rp-filter: strict on a host with several interfaces warns with the sysctl", () => {
  const two = {
    "/proc/sys/net/ipv4/conf/all/rp_filter": "0\n",
    "/proc/sys/net/ipv4/conf/eth0/rp_filter": "1\n",
  };
  // One IPv4 interface (eth1 has none): harmless.
  expect(checkRpFilter(room(), linuxHost(two))).toMatchObject({
    status: "ok",
    summary: "strict reverse-path filtering, harmless with one interface",
  });
  const eth1 = { name: "eth1", address: "198.19.0.1" };
  const twoNics = linuxHost({ ...two, "/proc/sys/net/ipv4/conf/all/rp_filter": "1\n" });
  const c = checkRpFilter(room({ ifaces: [eth0, eth1] }), twoNics);
  expect(c.status).toBe("warn");
  expect(c.details).toEqual(["eth0: rp_filter 1 (strict)", "eth1: rp_filter 1 (strict)"]);
  expect(c.fix).toBe(
    "sudo sysctl -w net.ipv4.conf.eth0.rp_filter=2; sudo sysctl -w net.ipv4.conf.eth1.rp_filter=2; sudo sysctl -w net.ipv4.conf.all.rp_filter=2",
  );
  const loose = linuxHost({ "/proc/sys/net/ipv4/conf/all/rp_filter": "2\n" });
  expect(checkRpFilter(room({ ifaces: [eth0, eth1] }), loose).summary).toBe(
    "no strict reverse-path filtering",
  );
  expect(checkRpFilter(v6(), linuxHost()).status).toBe("skip");
  expect(checkRpFilter(room(), otherHost("darwin")).status).toBe("skip");
});
