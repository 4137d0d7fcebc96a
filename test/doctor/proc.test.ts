import { expect, test } from "bun:test";
import {
  hexToIPv4,
  hexToIPv6,
  ipv6ToBytes,
  lookupRoute,
  parseFlags,
  parseIgmp,
  parseIgmp6,
  parseNetDev,
  parseRoute4,
  parseRoute6,
} from "../../src/doctor/proc.ts";
import { IGMP, IGMP6, IPV6_ROUTE, NET_DEV, ROUTE, ROUTE_DEFAULT_ONLY } from "./fixtures.ts";

test("addresses as the kernel prints them", () => {
  expect(hexToIPv4("010000E0")).toBe("224.0.0.1");
  expect(hexToIPv4("016401EF")).toBe("239.1.100.1");
  expect(hexToIPv4("EF016401", "BE")).toBe("239.1.100.1");
  expect(hexToIPv4("xyz")).toBeUndefined();
  expect(hexToIPv6("ff150000000000000000000000000001")).toBe("ff15::1");
  expect(hexToIPv6("00000000000000000000000000000000")).toBe("::");
  expect(hexToIPv6("fd000018000000000000000000000001")).toBe("fd00:18::1");
  expect(hexToIPv6("20010db8000100000001000000000001")).toBe("2001:db8:1:0:1::1");
  expect(ipv6ToBytes("ff15::1")?.[0]).toBe(0xff);
  expect(ipv6ToBytes("::ffff:1.2.3.4")?.[15]).toBe(4);
  expect(ipv6ToBytes("1::2::3")).toBeUndefined();
  expect(ipv6ToBytes("1:2:3")).toBeUndefined();
});

test("/proc/net/route: prefixes, gateway, metric", () => {
  const routes = parseRoute4(ROUTE);
  expect(routes.map((r) => `${r.prefix} ${r.dev} ${r.gateway ?? "-"} ${r.metric}`)).toEqual([
    "0.0.0.0/0 eth0 198.18.0.254 100",
    "198.18.0.0/24 eth0 - 0",
    "224.0.0.0/4 eth0 - 0",
  ]);
  expect(lookupRoute(routes, "239.1.100.1")?.route.prefix).toBe("224.0.0.0/4");
  expect(lookupRoute(routes, "198.18.0.7")?.route.prefix).toBe("198.18.0.0/24");
  expect(lookupRoute(parseRoute4(ROUTE_DEFAULT_ONLY), "239.1.100.1")?.route.prefix).toBe(
    "0.0.0.0/0",
  );
  expect(lookupRoute(parseRoute4(""), "239.1.100.1")).toBeUndefined();
  // A route that is not up, and a garbled line, are left out.
  expect(
    parseRoute4(`${ROUTE}eth9\t000000E0\t00000000\t0000\t0\t0\t0\t000000F0\nnonsense\n`),
  ).toHaveLength(3);
});

test("longest prefix wins, then the lowest metric; ties are kept", () => {
  const head = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n";
  const text = `${head}eth0\t000000E0\t00000000\t0001\t0\t0\t20\t000000F0\neth1\t000000E0\t00000000\t0001\t0\t0\t10\t000000F0\neth2\t000001EF\t00000000\t0001\t0\t0\t50\t0000FFFF\n`;
  const routes = parseRoute4(text);
  expect(lookupRoute(routes, "239.1.100.1")?.route.dev).toBe("eth2");
  expect(lookupRoute(routes, "239.2.0.1")?.route.dev).toBe("eth1");
  const v6 = lookupRoute(parseRoute6(IPV6_ROUTE), "ff15::1");
  expect(v6?.route.prefix).toBe("ff00::/8");
  expect([v6?.route.dev, ...(v6?.ties.map((t) => t.dev) ?? [])]).toEqual(["eth1", "eth0"]);
});

test("/proc/net/ipv6_route: reject routes are left out", () => {
  const routes = parseRoute6(IPV6_ROUTE);
  expect(routes.some((r) => r.dev === "lo" && r.prefixLength === 0)).toBe(false);
  expect(routes.find((r) => r.prefix === "fd00:18::/64")?.metric).toBe(256);
  expect(lookupRoute(routes, "2001:db8::1")).toBeUndefined();
});

test("/proc/net/igmp and igmp6: groups per interface", () => {
  expect(parseIgmp(IGMP)).toEqual([
    { dev: "lo", index: 1, group: "224.0.0.1", users: 1, igmpVersion: 3 },
    { dev: "eth1", index: 2, group: "224.0.0.1", users: 1, igmpVersion: 3 },
    { dev: "eth0", index: 3, group: "239.1.100.1", users: 2, igmpVersion: 3 },
    { dev: "eth0", index: 3, group: "224.0.0.1", users: 1, igmpVersion: 3 },
  ]);
  expect(
    parseIgmp(IGMP.replace("3\teth0      :     2      V3", "3\teth0      :     2      V2"))[2]
      ?.igmpVersion,
  ).toBe(2);
  const v6 = parseIgmp6(IGMP6);
  expect(v6.filter((m) => m.group === "ff15::1")).toEqual([
    { dev: "eth0", index: 3, group: "ff15::1", users: 2 },
  ]);
  expect(v6).toHaveLength(10);
});

test("/proc/net/dev names and sysfs flags", () => {
  expect(parseNetDev(NET_DEV)).toEqual(["lo", "eth1", "eth0"]);
  expect(parseFlags("0x1003\n")).toBe(0x1003);
  expect(parseFlags("4099")).toBe(4099);
  expect(parseFlags("")).toBeUndefined();
  expect(parseFlags(undefined)).toBeUndefined();
});
