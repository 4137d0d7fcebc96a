/**
 * cli.ts's part of issue 10's options: `-i` repeated (every value kept, as typed),
 * --source kept as text, and the joined line that names where the room is joined and
 * which interface sends.
 */
import { describe, expect, test } from "bun:test";
import { parseCommand, rawOptionValues } from "../../src/cli.ts";
import { validateOptions } from "../../src/config/options.ts";
import { joinedWhere } from "../../src/join.ts";
import { describeInterface, roomTransportOptions } from "../../src/net/udp-transport.ts";

const argv = (...args: string[]) => ["bun", "mcchat", ...args];
const optionsOf = (...args: string[]) => {
  const c = parseCommand(argv(...args));
  if (c.name !== "join") throw new Error(`not a join: ${c.name}`);
  return c.options;
};

describe("-i / --interface", () => {
  test("repeated: every value, in order, as typed", () => {
    expect(optionsOf("-i", "eth1", "--interface", "eth0", "-i=all").interface).toEqual([
      "eth1",
      "eth0",
      "all",
    ]);
    expect(optionsOf("-i", "eth0").interface).toBe("eth0");
    expect(optionsOf("-i", "007").interface).toBe("007"); // not the number 7
    expect(optionsOf().interface).toBeUndefined();
  });
  test("rawOptionValues stops at --", () => {
    expect(rawOptionValues(["-i", "a", "--", "-i", "b"], ["-i"])).toEqual(["a"]);
    expect(rawOptionValues(["-i"], ["-i"])).toEqual([]);
  });
  test("--source and an IPv6 group stay text", () => {
    const o = optionsOf("-g", "FF15::1", "--source", "fd00:18::1");
    expect(o.group).toBe("FF15::1");
    expect(o.source).toBe("fd00:18::1");
  });
});

describe("the joined line", () => {
  const HOST = [
    { name: "lo", address: "127.0.0.1", family: "IPv4" as const, internal: true, index: 1 },
    { name: "eth0", address: "198.18.0.2", family: "IPv4" as const, internal: false, index: 2 },
    { name: "eth0", address: "fd00:18::2", family: "IPv6" as const, internal: false, index: 2 },
    { name: "eth1", address: "198.19.0.2", family: "IPv4" as const, internal: false, index: 3 },
  ];
  /** What join() shows for these flags: the options through the transport's mapping. */
  const line = (raw: Record<string, unknown>) => {
    const opts = validateOptions(raw, { interfaces: HOST, defaultNick: "a" });
    const t = roomTransportOptions(opts, HOST);
    return joinedWhere(opts, {
      joinedOn: (t.joinOn ?? []).map(describeInterface),
      sendInterface: t.sendOn ? describeInterface(t.sendOn) : undefined,
    });
  };

  test("the system's choice: the room alone", () => {
    expect(line({})).toBe("239.1.100.1:25000");
  });
  test("several interfaces: all joined, the first sends", () => {
    expect(line({ interface: ["eth1", "eth0"] })).toBe(
      "239.1.100.1:25000 on eth1 (198.19.0.2), eth0 (198.18.0.2), sending on eth1 (198.19.0.2)",
    );
    expect(line({ interface: "all" })).toBe(
      "239.1.100.1:25000 on eth0 (198.18.0.2), eth1 (198.19.0.2), sending on eth0 (198.18.0.2)",
    );
  });
  test("IPv6 in brackets, canonical; --source named", () => {
    expect(line({ group: "FF15:0::1", interface: "eth0", source: "fd00:18::9" })).toBe(
      "[ff15::1]:25000 on eth0 (fd00:18::2), sending on eth0 (fd00:18::2), hearing only fd00:18::9",
    );
  });
  test("--ttl 0: the loopback, this host only", () => {
    expect(line({ ttl: 0 })).toBe(
      "239.1.100.1:25000 on lo (127.0.0.1), this host only, sending on lo (127.0.0.1)",
    );
    expect(line({ ttl: 0, group: "ff01::1" })).toBe(
      "[ff01::1]:25000 on eth0 (fd00:18::2), this host only, sending on eth0 (fd00:18::2)",
    );
  });
});
