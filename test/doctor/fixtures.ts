/**
 * /proc and /sys texts captured from a namespaced host (eth0 198.18.0.1/24 with
 * 224.0.0.0/4 and a default route, fd00:18::1/64; eth1 without IPv4; lo), joined to
 * 239.1.100.1 and ff15::1 on eth0, as doctor's checks read them.
 */
import type { NetInterface } from "../../src/config/options.ts";
import type { DoctorPlatform } from "../../src/doctor/platform.ts";

export const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth1:     110       1    0    0    0     0          0         0       90       1    0    0    0     0       0          0
  eth0:      90       1    0    0    0     0          0         0      110       1    0    0    0     0       0          0
`;

export const ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	FE0012C6	0003	0	0	100	00000000	0	0	0
eth0	000012C6	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	000000E0	00000000	0001	0	0	0	000000F0	0	0	0
`;

/** The same table without the multicast route. */
export const ROUTE_DEFAULT_ONLY = ROUTE.split("\n")
  .filter((l) => !l.includes("000000E0"))
  .join("\n");

/** Only the subnet: no multicast route, no default route. */
export const ROUTE_SUBNET_ONLY = ROUTE.split("\n")
  .filter((l) => !l.includes("000000E0") && !l.includes("FE0012C6"))
  .join("\n");

export const IPV6_ROUTE = `fd000018000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth1
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
fd000018000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth1
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

export const IGMP = `Idx	Device    : Count Querier	Group    Users Timer	Reporter
1	lo        :     1      V3
				010000E0     1 0:00000000		0
2	eth1      :     1      V3
				010000E0     1 0:00000000		0
3	eth0      :     2      V3
				016401EF     2 0:00000000		0
				010000E0     1 0:00000000		0
`;

export const IGMP6 = `1    lo              ff020000000000000000000000000001     1 0000000C 0
1    lo              ff010000000000000000000000000001     1 00000008 0
2    eth1            ff0200000000000000000001ff916649     1 00000004 0
2    eth1            ff020000000000000000000000000001     1 0000000C 0
2    eth1            ff010000000000000000000000000001     1 00000008 0
3    eth0            ff150000000000000000000000000001     2 00000004 0
3    eth0            ff0200000000000000000001ff000001     1 00000004 0
3    eth0            ff0200000000000000000001ff464822     1 00000004 0
3    eth0            ff020000000000000000000000000001     1 0000000C 0
3    eth0            ff010000000000000000000000000001     1 00000008 0
`;

export const INTERFACES: NetInterface[] = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  { name: "lo", address: "::1", family: "IPv6", internal: true },
  { name: "eth1", address: "fe80::5c:91ff:fe91:6649", family: "IPv6", internal: false },
  { name: "eth0", address: "198.18.0.1", family: "IPv4", internal: false },
  { name: "eth0", address: "fd00:18::1", family: "IPv6", internal: false },
  { name: "eth0", address: "fe80::48:46ff:fe46:4822", family: "IPv6", internal: false },
];

export const SYS: Record<string, string> = {
  "/sys/class/net/lo/flags": "0x9\n",
  "/sys/class/net/lo/ifindex": "1\n",
  "/sys/class/net/eth1/flags": "0x1003\n",
  "/sys/class/net/eth1/ifindex": "2\n",
  "/sys/class/net/eth0/flags": "0x1003\n",
  "/sys/class/net/eth0/ifindex": "3\n",
};

/** A Linux platform over these texts; `files` replaces or (undefined) removes entries. */
export function linuxHost(
  files: Record<string, string | undefined> = {},
  interfaces: NetInterface[] = INTERFACES,
): DoctorPlatform {
  const all: Record<string, string | undefined> = {
    "/proc/net/dev": NET_DEV,
    "/proc/net/route": ROUTE,
    "/proc/net/ipv6_route": IPV6_ROUTE,
    "/proc/net/igmp": IGMP,
    "/proc/net/igmp6": IGMP6,
    "/proc/sys/net/core/rmem_max": "8388608\n",
    ...SYS,
    ...files,
  };
  return {
    name: "linux",
    endianness: "LE",
    interfaces,
    readFile: (path) => all[path],
    listDir: (path) =>
      path === "/sys/class/net"
        ? [
            ...new Set(
              Object.keys(all)
                .filter((k) => k.startsWith("/sys/class/net/") && all[k] !== undefined)
                .map((k) => k.split("/")[4] as string),
            ),
          ]
        : undefined,
  };
}

/** A macOS or Windows host: no /proc, no /sys. */
export function otherHost(name: NodeJS.Platform): DoctorPlatform {
  return {
    name,
    endianness: "LE",
    interfaces: INTERFACES.map((i) => (i.name === "lo" ? { ...i, name: "lo0" } : i)),
    readFile: () => undefined,
  };
}
