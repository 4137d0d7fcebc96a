import { describe, expect, test } from "bun:test";
import {
  isInterfaceLocalGroup,
  isIPv4Multicast,
  isIPv6Multicast,
  isSourceSpecificGroup,
  multicastInterfaces,
  type NetInterface,
  nickProblem,
  MAX_NICK_BYTES as OPTIONS_MAX_NICK_BYTES,
  parseIntIn,
  reservedGroupWarning,
  resolveInterface,
  validateGroup,
  validateOptions,
} from "../../src/config/options.ts";
import { UserError } from "../../src/errors.ts";
import { MAX_NICK_BYTES } from "../../src/protocol/constants.ts";

const IFS: NetInterface[] = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  { name: "eth0", address: "198.18.0.2", family: "IPv4", internal: false },
  { name: "eth0", address: "fe80::1", family: "IPv6", internal: false },
  { name: "v6only", address: "fe80::2", family: "IPv6", internal: false },
];
const ctx = { interfaces: IFS, defaultNick: "alice" };

function usageError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as UserError).message).not.toContain("\n");
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("--legacy", () => {
  test("off by default, on as a flag or from the saved config", () => {
    expect(validateOptions({}, ctx).legacy).toBe(false);
    expect(validateOptions({ legacy: true }, ctx).legacy).toBe(true);
    expect(validateOptions({ legacy: false }, ctx).legacy).toBe(false);
  });
  test("a value is a usage error", () => {
    expect(usageError(() => validateOptions({ legacy: "yes" }, ctx)).message).toContain(
      "legacy is an on/off option",
    );
    usageError(() => validateOptions({ legacy: 1 }, ctx));
  });
});

describe("the nick limit is the wire's", () => {
  test("MAX_NICK_BYTES bytes of UTF-8, not characters", () => {
    expect(OPTIONS_MAX_NICK_BYTES).toBe(MAX_NICK_BYTES);
    expect(nickProblem("x".repeat(MAX_NICK_BYTES))).toBeUndefined();
    expect(nickProblem("x".repeat(MAX_NICK_BYTES + 1))).toContain(`${MAX_NICK_BYTES} bytes`);
    expect(nickProblem("张".repeat(10))).toBeUndefined(); // 30 bytes
    expect(nickProblem("张".repeat(11))).toBeDefined(); // 33 bytes, 11 characters
  });
});

describe("the room port and reserved groups (shared with the setup wizard)", () => {
  test("port 65535 is refused up front for a framed room (it needs port + 1), allowed with --raw", () => {
    expect(usageError(() => validateOptions({ port: 65535 }, ctx)).message).toBe(
      "port 65535: a framed room also uses port 65536, which does not exist; use --raw or a lower port",
    );
    expect(validateOptions({ port: 65535, raw: true }, ctx).port).toBe(65535);
    expect(validateOptions({ port: "65534" }, ctx).port).toBe(65534);
  });
  test("reserved groups are named; room groups are not", () => {
    expect(reservedGroupWarning("224.0.0.1")).toContain("all-hosts");
    expect(reservedGroupWarning("224.0.0.5")).toContain("224.0.0.0/24");
    expect(reservedGroupWarning("224.0.1.129")).toContain("224.0.1.0/24");
    expect(reservedGroupWarning("ff02::1")).toContain("all nodes");
    expect(reservedGroupWarning("ff02::1:ff12:3456")).toContain("well-known");
    for (const g of ["239.1.100.1", "224.0.2.1", "ff15::1", "ff01::1:6", "ff18::1"]) {
      expect(reservedGroupWarning(g)).toBeUndefined();
    }
  });
});

describe("validateOptions", () => {
  test("defaults", () => {
    const o = validateOptions({}, ctx);
    expect(o).toMatchObject({
      group: "239.1.100.1",
      port: 25000,
      // Issue 16: "auto" (UTF-8 or GBK as heard), no longer "utf8", which garbled GBK rooms.
      encoding: "auto",
      ttl: 1,
      loopback: true,
      raw: false,
      listen: false,
      json: false,
      nick: "alice",
    });
    expect(o.ifaces).toEqual([]);
    expect(o.sendIface).toBeUndefined();
    expect(o.count).toBeUndefined();
  });

  test("accepts strings and numbers as cac gives them", () => {
    const o = validateOptions(
      { group: "239.9.9.9", port: "4000", ttl: 0, encoding: "GBK", count: "3", timeout: "1.5" },
      ctx,
    );
    expect(o).toMatchObject({ group: "239.9.9.9", port: 4000, ttl: 0, encoding: "gbk", count: 3 });
    expect(o.timeoutSeconds).toBe(1.5);
  });

  test.each([
    [{ group: "10.0.0.1" }, /multicast/],
    [{ group: "240.0.0.1" }, /multicast/],
    [{ group: "nonsense" }, /multicast/],
    [{ port: 0 }, /port/],
    [{ port: 65536 }, /port/],
    [{ port: "12x" }, /port/],
    [{ port: -1 }, /port/],
    [{ ttl: 256 }, /ttl/],
    [{ ttl: 300 }, /ttl/],
    [{ encoding: "nosuch" }, /unknown encoding/],
    [{ interface: "nosuch0" }, /unknown interface/],
    [{ interface: "203.0.113.9" }, /no interface/],
    [{ interface: "v6only" }, /no IPv4/],
    [{ count: 0 }, /count/],
    [{ timeout: "soon" }, /timeout/],
    [{ timeout: 0 }, /timeout/],
    [{ nick: "" }, /empty/],
    [{ nick: "a".repeat(33) }, /32 bytes/],
    [{ nick: "bad\u001bnick" }, /control/],
  ])("rejects %o", (raw, pattern) => {
    expect(usageError(() => validateOptions(raw, ctx)).message).toMatch(pattern);
  });

  test("--no-loopback and flags", () => {
    const o = validateOptions({ loopback: false, raw: true, listen: true, json: true }, ctx);
    expect(o).toMatchObject({ loopback: false, raw: true, listen: true, json: true });
  });
});

describe("resolveInterface", () => {
  test("by name gives the IPv4 address (addMembership ignores names)", () => {
    expect(resolveInterface("eth0", IFS)).toEqual({ name: "eth0", address: "198.18.0.2" });
  });
  test("by address", () => {
    expect(resolveInterface("127.0.0.1", IFS)).toEqual({ name: "lo", address: "127.0.0.1" });
  });
  test("none given", () => {
    expect(resolveInterface(undefined, IFS)).toBeUndefined();
  });
});

test("isIPv4Multicast bounds", () => {
  expect(isIPv4Multicast("224.0.0.0")).toBe(true);
  expect(isIPv4Multicast("239.255.255.255")).toBe(true);
  expect(isIPv4Multicast("223.255.255.255")).toBe(false);
  expect(isIPv4Multicast("240.0.0.0")).toBe(false);
  expect(isIPv4Multicast("239.1.100")).toBe(false);
});

test("parseIntIn keeps leading zeros as decimal and rejects fractions", () => {
  expect(parseIntIn("007", "n", 0, 10)).toBe(7);
  expect(() => parseIntIn("1.5", "n", 0, 10)).toThrow(UserError);
});

test("nickProblem", () => {
  expect(nickProblem("张三")).toBeUndefined();
  expect(nickProblem("a b")).toMatch(/spaces/);
  expect(nickProblem("x\u202ey")).toMatch(/control/);
  expect(nickProblem("张".repeat(11))).toMatch(/32 bytes/); // 33 bytes of UTF-8
});

/** A dual-stack host with two NICs, a down one and one without MULTICAST. */
const HOST: NetInterface[] = [
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
    name: "eth1",
    address: "198.19.0.2",
    family: "IPv4",
    internal: false,
    index: 3,
    up: true,
    multicast: true,
  },
  {
    name: "eth1",
    address: "fe80::b",
    family: "IPv6",
    internal: false,
    index: 3,
    up: true,
    multicast: true,
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
    address: "fe80::a",
    family: "IPv6",
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
    name: "tun0",
    address: "10.8.0.2",
    family: "IPv4",
    internal: false,
    index: 4,
    up: true,
    multicast: false,
  },
  {
    name: "eth2",
    address: "198.20.0.2",
    family: "IPv4",
    internal: false,
    index: 5,
    up: false,
    multicast: true,
  },
];
const host = { interfaces: HOST, defaultNick: "alice" };
const ETH0 = { name: "eth0", address: "198.18.0.2", index: 2 };
const ETH1 = { name: "eth1", address: "198.19.0.2", index: 3 };

describe("IPv6 groups", () => {
  test.each([
    ["ff15::1", "ff15::1"],
    ["FF15::1", "ff15::1"],
    ["ff15:0:0:0:0:0:0:1", "ff15::1"],
    [" ff05::00ab:1 ", "ff05::ab:1"],
    ["ff02::1", "ff02::1"],
    ["ff0e:0:0:0:1:0:0:1", "ff0e::1:0:0:1"],
  ])("%p is the room %p (canonical: the room key's salt)", (given, canonical) => {
    expect(validateGroup(given)).toBe(canonical);
    expect(validateOptions({ group: given }, host)).toMatchObject({
      group: canonical,
      family: "IPv6",
    });
  });
  test("IPv4 is family IPv4 and kept as typed", () => {
    expect(validateOptions({ group: "239.9.9.9" }, host)).toMatchObject({
      group: "239.9.9.9",
      family: "IPv4",
    });
  });
  test.each([
    ["fd00::1", /multicast/],
    ["::1", /multicast/],
    ["fe80::1", /multicast/],
    ["ff15::1%eth0", /--interface/],
    ["ff15::1::2", /multicast/],
    ["::ffff:239.1.1.1", /multicast/],
  ])("%p refused", (group, pattern) => {
    expect(usageError(() => validateOptions({ group }, host)).message).toMatch(pattern);
  });
  test("interface-local ff01::/16 only with --ttl 0", () => {
    expect(usageError(() => validateOptions({ group: "ff01::1" }, host)).message).toMatch(
      /interface-local.*--ttl 0/,
    );
    expect(isInterfaceLocalGroup("ff01::1")).toBe(true);
    expect(isInterfaceLocalGroup("ff11::1")).toBe(true);
    expect(isInterfaceLocalGroup("ff02::1")).toBe(false);
    expect(isIPv6Multicast("ff00::")).toBe(true);
    expect(isIPv6Multicast("fe00::")).toBe(false);
  });
  test("-i by name joins with the global/ULA address, by link-local address too", () => {
    const o = validateOptions({ group: "ff15::1", interface: "eth0" }, host);
    expect(o.ifaces).toEqual([{ name: "eth0", address: "fd00:18::2", index: 2 }]);
    expect(o.sendIface).toEqual({ name: "eth0", address: "fd00:18::2", index: 2 });
    const v1 = validateOptions({ group: "ff15::1", interface: "eth1" }, host);
    expect(v1.ifaces).toEqual([{ name: "eth1", address: "fe80::b", index: 3 }]);
    for (const given of ["fe80::a", "FE80::A", "fe80::a%eth0", "fe80::a%2", "fd00:18:0::2"]) {
      expect(validateOptions({ group: "ff15::1", interface: given }, host).ifaces[0]?.name).toBe(
        "eth0",
      );
    }
  });
  test("-i in the other family: named in the error", () => {
    expect(
      usageError(() => validateOptions({ group: "ff15::1", interface: "198.18.0.2" }, host))
        .message,
    ).toBe(
      "interface address 198.18.0.2 is IPv4, but the group is IPv6: give an IPv6 address or the interface's name (eth0)",
    );
    expect(
      usageError(() => validateOptions({ group: "ff15::1", interface: "tun0" }, host)).message,
    ).toBe('interface "tun0" has no IPv6 address');
    expect(
      usageError(() => validateOptions({ group: "ff15::1", interface: "fe80::a%eth1" }, host))
        .message,
    ).toMatch(/no interface of this host has the address fe80::a%eth1/);
  });
});

describe("--source (source-specific multicast)", () => {
  test("same family, canonical", () => {
    expect(validateOptions({ group: "239.1.2.3", source: "198.18.0.9" }, host).source).toBe(
      "198.18.0.9",
    );
    expect(validateOptions({ group: "232.1.2.3", source: "198.18.0.9" }, host).source).toBe(
      "198.18.0.9",
    );
    expect(validateOptions({ group: "ff3e::8000:1", source: "FD00:18:0:0::9" }, host).source).toBe(
      "fd00:18::9",
    );
    expect(validateOptions({ group: "ff15::1", source: "fd00:18::9" }, host).source).toBe(
      "fd00:18::9",
    );
    expect(validateOptions({}, host).source).toBeUndefined();
  });
  test("an SSM group (232/8, ff3x::/32) without --source is refused", () => {
    expect(usageError(() => validateOptions({ group: "232.1.2.3" }, host)).message).toBe(
      "group 232.1.2.3 is a source-specific group: pass --source ADDR",
    );
    expect(usageError(() => validateOptions({ group: "ff3e::8000:1" }, host)).message).toBe(
      "group ff3e::8000:1 is a source-specific group: pass --source ADDR",
    );
    expect(isSourceSpecificGroup("ff35::1")).toBe(true);
    // ff3x with a prefix length (RFC 3306 unicast-prefix-based) is not SSM
    expect(isSourceSpecificGroup("ff35:40:fd00:18::1")).toBe(false);
    expect(isSourceSpecificGroup("239.1.2.3")).toBe(false);
  });
  test.each([
    [
      { source: "nonsense" },
      '--source must be the IP address of the sender to hear, not "nonsense"',
    ],
    [
      { source: "fd00::9" },
      "--source fd00::9 is an IPv6 address, but the group 239.1.100.1 is IPv4",
    ],
    [
      { group: "ff15::1", source: "198.18.0.9" },
      "--source 198.18.0.9 is an IPv4 address, but the group ff15::1 is IPv6",
    ],
    [
      { source: "239.1.1.1" },
      "--source must be the sender's unicast address, not a group: 239.1.1.1",
    ],
    [
      { group: "ff15::1", source: "ff15::2" },
      "--source must be the sender's unicast address, not a group: ff15::2",
    ],
    [{ source: "0.0.0.0" }, "--source must be the sender's unicast address, not 0.0.0.0"],
    [
      { source: "255.255.255.255" },
      "--source must be the sender's unicast address, not 255.255.255.255",
    ],
  ])("%o refused: one line", (raw, line) => {
    expect(usageError(() => validateOptions(raw, host)).message).toBe(line);
  });
});

describe("--interface, repeated and all", () => {
  test("repeated: joined on each once, in order; the first sends", () => {
    const o = validateOptions({ interface: ["eth1", "eth0", "198.19.0.2"] }, host);
    expect(o.ifaces).toEqual([ETH1, ETH0]);
    expect(o.sendIface).toEqual(ETH1);
    expect(validateOptions({ interface: "eth0,eth1" }, host).ifaces).toEqual([ETH0, ETH1]);
  });
  test("all: every up, multicast-capable, non-loopback interface of the family, by name", () => {
    const o = validateOptions({ interface: "all" }, host);
    expect(o.ifaces).toEqual([ETH0, ETH1]); // not lo, not tun0 (no MULTICAST), not eth2 (down)
    expect(o.sendIface).toEqual(ETH0);
    expect(validateOptions({ interface: "ALL" }, host).ifaces).toEqual([ETH0, ETH1]);
    expect(validateOptions({ interface: ["eth1", "all"] }, host).sendIface).toEqual(ETH1);
    expect(validateOptions({ group: "ff15::1", interface: "all" }, host).ifaces).toEqual([
      { name: "eth0", address: "fd00:18::2", index: 2 },
      { name: "eth1", address: "fe80::b", index: 3 },
    ]);
    expect(multicastInterfaces(HOST, "IPv4").map((i) => i.name)).toEqual(["eth0", "eth1"]);
  });
  test("all: flags unknown (not Linux) count as capable", () => {
    const bare = HOST.map(({ up: _u, multicast: _m, ...i }) => i);
    expect(
      validateOptions({ interface: "all" }, { interfaces: bare, defaultNick: "a" }).ifaces.map(
        (i) => i.name,
      ),
    ).toEqual(["eth0", "eth1", "eth2", "tun0"]);
  });
  test("all with nothing to join: one line naming doctor", () => {
    const onlyLo = HOST.filter((i) => i.internal);
    expect(
      usageError(() =>
        validateOptions({ interface: "all" }, { interfaces: onlyLo, defaultNick: "a" }),
      ).message,
    ).toBe(
      "--interface all: no up, multicast-capable interface has an IPv4 address (see mcchat doctor)",
    );
  });
  test("one bad name among several is named", () => {
    expect(
      usageError(() => validateOptions({ interface: ["eth0", "wlan9"] }, host)).message,
    ).toMatch(/^unknown interface "wlan9" \(this host has: lo, eth1, eth0, tun0, eth2\)$/);
  });
});

describe("--ttl 0: this host only", () => {
  test("IPv4: joined and sent on the loopback; TTL stays 0 in the options", () => {
    const o = validateOptions({ ttl: "0" }, host);
    expect(o).toMatchObject({ ttl: 0, hostOnly: true, family: "IPv4" });
    expect(o.ifaces).toEqual([{ name: "lo", address: "127.0.0.1", index: 1 }]);
    expect(o.sendIface).toEqual({ name: "lo", address: "127.0.0.1", index: 1 });
    expect(validateOptions({ ttl: 1 }, host).hostOnly).toBe(false);
  });
  test("IPv4: -i lo is fine, another interface is refused", () => {
    expect(validateOptions({ ttl: 0, interface: "lo" }, host).ifaces).toEqual([
      { name: "lo", address: "127.0.0.1", index: 1 },
    ]);
    expect(usageError(() => validateOptions({ ttl: 0, interface: "eth0" }, host)).message).toBe(
      "--ttl 0 keeps the room on this host (the loopback interface): drop --interface eth0, or use --ttl 1 or more",
    );
  });
  test("IPv4: a host that lists no loopback still gets 127.0.0.1", () => {
    const o = validateOptions({ ttl: 0 }, { interfaces: [], defaultNick: "a" });
    expect(o.ifaces).toEqual([{ name: "lo", address: "127.0.0.1" }]);
  });
  test("IPv6: only an interface-local group, looped through the first multicast interface", () => {
    const o = validateOptions({ ttl: 0, group: "ff01::1:2" }, host);
    expect(o).toMatchObject({ hostOnly: true, group: "ff01::1:2", family: "IPv6" });
    expect(o.ifaces).toEqual([{ name: "eth0", address: "fd00:18::2", index: 2 }]);
    expect(
      validateOptions({ ttl: 0, group: "ff01::1", interface: "eth1" }, host).sendIface?.name,
    ).toBe("eth1");
    expect(usageError(() => validateOptions({ ttl: 0, group: "ff15::1" }, host)).message).toBe(
      "--ttl 0 (this host only) with an IPv6 group needs an interface-local group (ff01::/16), not ff15::1: IPv6 multicast cannot be kept on the loopback",
    );
  });
  test("IPv6: -i lo (which carries no IPv6 multicast) loops through the first multicast interface; a down one is passed over", () => {
    expect(validateOptions({ ttl: 0, group: "ff01::1", interface: "lo" }, host).ifaces).toEqual([
      { name: "eth0", address: "fd00:18::2", index: 2 },
    ]);
    const eth0Down = HOST.map((i) => (i.name === "eth0" ? { ...i, up: false } : i));
    const o = validateOptions(
      { ttl: 0, group: "ff01::1", interface: "lo" },
      { interfaces: eth0Down, defaultNick: "a" },
    );
    expect(o.ifaces.map((i) => i.name)).toEqual(["eth1"]);
    expect(o.sendIface?.name).toBe("eth1");
  });
  test("IPv6 with no interface but the loopback: exit 1, said in one line", () => {
    const onlyLo = HOST.filter((i) => i.internal);
    expect(() =>
      validateOptions({ ttl: 0, group: "ff01::1" }, { interfaces: onlyLo, defaultNick: "a" }),
    ).toThrow(/needs a network interface with an IPv6 address/);
  });
});

test("the nick limit is said in characters too, with the size of the nick given", () => {
  const problem = nickProblem("张".repeat(11)) ?? "";
  expect(problem).toContain("10 CJK characters");
  expect(problem).toContain("32 Latin letters");
  expect(problem).toContain("this one is 33 bytes");
});
