import { describe, expect, test } from "bun:test";
import type os from "node:os";
import { listInterfaces } from "../../src/net/interfaces.ts";

const v4 = (address: string, internal = false): os.NetworkInterfaceInfo => ({
  address,
  netmask: "255.255.255.0",
  family: "IPv4",
  mac: "00:00:00:00:00:00",
  internal,
  cidr: `${address}/24`,
});
const v6 = (address: string, scopeid = 0, internal = false): os.NetworkInterfaceInfo => ({
  address,
  netmask: "ffff:ffff:ffff:ffff::",
  family: "IPv6",
  mac: "00:00:00:00:00:00",
  internal,
  cidr: `${address}/64`,
  scopeid,
});

const HOST = {
  lo: [v4("127.0.0.1", true), v6("::1", 0, true)],
  eth0: [v4("198.18.0.2"), v6("fd00:18::2"), v6("fe80::2", 2)],
  eth1: [v4("198.19.0.2")],
};

describe("listInterfaces", () => {
  test("Linux: index, UP and MULTICAST from /sys/class/net/<if>/{ifindex,flags}", () => {
    const sys: Record<string, string> = {
      "/sys/class/net/lo/flags": "0x9\n", // UP|LOOPBACK: no MULTICAST
      "/sys/class/net/lo/ifindex": "1\n",
      "/sys/class/net/eth0/flags": "0x1003\n", // UP|BROADCAST|MULTICAST
      "/sys/class/net/eth0/ifindex": "2\n",
      "/sys/class/net/eth1/flags": "0x1002\n", // MULTICAST, down
      "/sys/class/net/eth1/ifindex": "7\n",
    };
    const read: string[] = [];
    const got = listInterfaces({
      networkInterfaces: () => HOST,
      readFile: (p) => {
        read.push(p);
        return sys[p];
      },
    });
    expect(got).toEqual([
      {
        name: "lo",
        address: "127.0.0.1",
        family: "IPv4",
        internal: true,
        index: 1,
        up: true,
        multicast: false,
      },
      {
        name: "lo",
        address: "::1",
        family: "IPv6",
        internal: true,
        index: 1,
        up: true,
        multicast: false,
      },
      {
        name: "eth0",
        address: "198.18.0.2",
        family: "IPv4",
        internal: false,
        index: 2,
        up: true,
        multicast: true,
      },
      {
        name: "eth0",
        address: "fd00:18::2",
        family: "IPv6",
        internal: false,
        index: 2,
        up: true,
        multicast: true,
      },
      {
        name: "eth0",
        address: "fe80::2",
        family: "IPv6",
        internal: false,
        index: 2,
        up: true,
        multicast: true,
      },
      {
        name: "eth1",
        address: "198.19.0.2",
        family: "IPv4",
        internal: false,
        index: 7,
        up: false,
        multicast: true,
      },
    ]);
    expect(new Set(read)).toEqual(new Set(Object.keys(sys)));
  });

  test("no /sys (Windows, macOS): the index is the link-local scope id, flags unknown", () => {
    const got = listInterfaces({ networkInterfaces: () => HOST, readFile: () => undefined });
    const eth0 = got.filter((i) => i.name === "eth0");
    expect(eth0.map((i) => i.index)).toEqual([2, 2, 2]);
    expect(got.find((i) => i.name === "eth1")).toEqual({
      name: "eth1",
      address: "198.19.0.2",
      family: "IPv4",
      internal: false,
    });
    expect(got.every((i) => i.up === undefined && i.multicast === undefined)).toBe(true);
  });

  test("garbage in /sys is ignored; a name is never used to leave /sys/class/net", () => {
    const read: string[] = [];
    const got = listInterfaces({
      networkInterfaces: () => ({ "..": [v4("10.0.0.1")], eth0: [v4("10.0.0.2")] }),
      readFile: (p) => {
        read.push(p);
        return "nonsense";
      },
    });
    expect(read.every((p) => p.startsWith("/sys/class/net/eth0/"))).toBe(true);
    expect(got.map((i) => [i.name, i.index, i.multicast])).toEqual([
      ["..", undefined, undefined],
      ["eth0", undefined, undefined],
    ]);
  });

  test("this host: every address listed, lo has index 1 on Linux", () => {
    const got = listInterfaces();
    expect(got.length).toBeGreaterThan(0);
    if (process.platform === "linux") {
      const lo = got.find((i) => i.name === "lo");
      if (lo) expect(lo.index).toBe(1);
    }
  });
});
