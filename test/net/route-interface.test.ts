/**
 * Pinning sending at join without --interface (issue 15, "Interfaces that come back"): the
 * interface the system routes the group over, found by connecting a UDP socket to the group
 * (nothing is sent). In the runner's private namespace 224.0.0.0/4 is routed to lo.
 */
import { describe, expect, test } from "bun:test";
import type { NetInterface } from "../../src/config/options.ts";
import { probeSourceAddress, routeInterface } from "../../src/net/route-interface.ts";
import { assertPrivateNetns } from "../helpers/netns.ts";

assertPrivateNetns();

const IFACES: NetInterface[] = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true, index: 1 },
  { name: "eth0", address: "198.18.0.1", family: "IPv4", internal: false, index: 2 },
  { name: "eth0", address: "fd00:18::1", family: "IPv6", internal: false, index: 2 },
  { name: "eth1", address: "198.18.1.1", family: "IPv4", internal: false, index: 3 },
  { name: "eth2", address: "198.18.1.1", family: "IPv4", internal: false, index: 4 },
];
const probing = (address: string | undefined) => async () => address;

describe("routeInterface", () => {
  test("the interface holding the source address the route gives, with its index", async () => {
    expect(await routeInterface("239.1.2.3", IFACES, probing("198.18.0.1"))).toEqual({
      name: "eth0",
      address: "198.18.0.1",
      index: 2,
    });
    expect(await routeInterface("ff15::1", IFACES, probing("fd00:18::1"))).toEqual({
      name: "eth0",
      address: "fd00:18::1",
      index: 2,
    });
  });

  test("no route, the wildcard, an unknown address, or one on two interfaces: the system's choice", async () => {
    expect(await routeInterface("239.1.2.3", IFACES, probing(undefined))).toBeUndefined();
    expect(await routeInterface("239.1.2.3", IFACES, probing("0.0.0.0"))).toBeUndefined();
    expect(await routeInterface("239.1.2.3", IFACES, probing("198.18.9.9"))).toBeUndefined();
    expect(await routeInterface("239.1.2.3", IFACES, probing("198.18.1.1"))).toBeUndefined();
    const failing = async () => {
      throw new Error("EPERM");
    };
    expect(await routeInterface("239.1.2.3", IFACES, failing)).toBeUndefined();
  });

  test("the real probe: the group's route here (224.0.0.0/4 on lo) gives lo's address; no route gives none", async () => {
    expect(await probeSourceAddress("239.1.2.3")).toBe("127.0.0.1");
    expect(await routeInterface("239.1.2.3", IFACES)).toEqual({
      name: "lo",
      address: "127.0.0.1",
      index: 1,
    });
    // No IPv6 route for ff15::/16 in the runner's namespace (lo only).
    expect(await probeSourceAddress("ff15::1")).toBeUndefined();
  });
});
