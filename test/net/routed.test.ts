/**
 * A room spanning two subnets joined by a multicast router (test/helpers/netns.ts
 * createRoutedLab: smcrouted forwards 239.0.0.0/8 both ways), from source and as the binary.
 *
 *   subnet 1 198.18.1.0/24: a0 .1, a1 .2  ── router eth0 .254 / eth1 .254 ──  subnet 2 198.18.2.0/24: b0 .1, b1 .2
 *
 * Both families: IPv4 group 239.1.106.1, and IPv6 group ff15::106 (fd00:18:1::/64 and
 * fd00:18:2::/64; smcrouted routes ff15::/16 too). The kernel forwards a multicast datagram
 * only when its TTL (IPv6: hop limit) is above 1, so `--ttl 2` crosses the router and
 * `--ttl 1` (the default) stays on its subnet. Silence is only
 * meaningful next to a path that works: in the TTL-1 room, TTL-2 members on both subnets
 * speak after the TTL-1 members did, and their later datagrams cross the same router.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { gotText, said, waitEvent, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createRoutedLab,
  describeRoutedLab,
  type Host,
  implementations,
  type RoutedLab,
  stopAll,
} from "../helpers/netns.ts";
import { fromAddress, waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.106.1";
const FAMILIES = [
  { family: "IPv4", group: GROUP, v6: false, offset: 0 },
  { family: "IPv6", group: "ff15::106", v6: true, offset: 20 },
] as const;

const JOIN_MS = 20_000;

/** What the router knows, for a failure message. */
async function routerState(router: RoutedLab["router"]): Promise<string> {
  const mroutes = await router.exec(["ip", "-s", "mroute", "show"], { check: false });
  const vifs = await router.exec(["cat", "/proc/net/ip_mr_vif"], { check: false });
  return `router:\n${mroutes.stdout}${vifs.stdout}${router.smcrouted?.describe() ?? ""}`;
}

describeRoutedLab("the routed lab", () => {
  test("addresses, forwarding, multicast out of eth0 on the dual-homed host, smcrouted up until destroy()", async () => {
    const lab = await createRoutedLab({ hosts: [1, 1], dualHomed: 1 });
    try {
      const [a0, b0, d0] = [lab.subnet1[0], lab.subnet2[0], lab.dualHomed[0]] as [Host, Host, Host];
      expect([a0.address, a0.address6, b0.address, b0.address6]).toEqual([
        "198.18.1.1",
        "fd00:18:1::1",
        "198.18.2.1",
        "fd00:18:2::1",
      ]);
      expect(d0.nics).toEqual([
        { name: "eth0", address: "198.18.1.101", address6: "fd00:18:1::101" },
        { name: "eth1", address: "198.18.2.101", address6: "fd00:18:2::101" },
      ]);
      expect(lab.router.nics.map((n) => n.address)).toEqual(["198.18.1.254", "198.18.2.254"]);
      expect(lab.hosts).toEqual([a0, b0, d0]);
      const forwarding = await lab.router.exec([
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/net/ipv6/conf/all/forwarding",
      ]);
      expect(forwarding.stdout).toBe("1\n1\n");
      // Both NICs usable at once (no DAD); multicast without a chosen interface leaves by eth0.
      const addrs = await d0.exec(["ip", "-6", "addr", "show"]);
      expect(addrs.stdout).toContain("fd00:18:2::101/64");
      expect(addrs.stdout).not.toContain("tentative");
      expect((await d0.exec(["ip", "route", "get", GROUP])).stdout).toContain("dev eth0");
      expect((await d0.exec(["ip", "-6", "route", "get", "ff15::1"])).stdout).toContain("dev eth0");
      // Unicast is routed (default routes via the router): b0's address is one hop away.
      expect((await a0.exec(["ip", "route", "get", b0.address])).stdout).toContain(
        "via 198.18.1.254 dev eth0",
      );
      expect(lab.router.smcrouted?.exited).toBe(false);
      expect(lab.router.smcrouted?.log()).toContain("Ready");
    } finally {
      await lab.destroy();
    }
    expect(lab.router.smcrouted?.exited).toBe(true);
  }, 30_000);
});

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describe(`a room across two routed subnets${suffix}`, () => {
    let lab: RoutedLab | undefined;
    afterAll(() => lab?.destroy());
    const routed = async () => {
      lab ??= await createRoutedLab({ hosts: [2, 2] });
      return lab;
    };
    const base = label === "source" ? 25_600 : 25_640;

    for (const { family, group, v6, offset } of FAMILIES) {
      // The IPv6 half needs IPv6 multicast routing in the kernel as well (CONFIG_IPV6_MROUTE).
      describeRoutedLab(
        `${family} group ${group}`,
        () => roomTests(group, v6, offset),
        v6 ? "ipv6" : "ipv4",
      );
    }

    function roomTests(group: string, v6: boolean, offset: number) {
      const addr = (h: Host) => (v6 ? h.address6 : h.address);

      /** A member on `host` with stdin open, printing JSON events. */
      const member = (host: Host, nick: string, port: number, ttl: number) =>
        host.spawn(
          [
            ...mcchat,
            ...["-y", "-g", group, "-p", String(port), "--ttl", String(ttl), "--json", "-n", nick],
          ],
          { stdin: "pipe" },
        );

      when(
        "--ttl 2: members on the two subnets see each other join, talk both ways and leave, through the router",
        async () => {
          const { subnet1, subnet2, router } = await routed();
          const [a0, b0] = [subnet1[0], subnet2[0]] as [Host, Host];
          const port = base + offset + 1;
          const alice = member(a0, "alice", port, 2);
          const bob = member(b0, "bob", port, 2);

          const bobJoin = await waitEvent(
            alice,
            (e) => e.type === "join" && e.nick === "bob",
            "alice (subnet 1) sees bob (subnet 2) join",
            JOIN_MS,
          );
          const aliceJoin = await waitEvent(
            bob,
            (e) => e.type === "join" && e.nick === "alice",
            "bob (subnet 2) sees alice (subnet 1) join",
            JOIN_MS,
          );
          expect(bobJoin.from).toMatch(fromAddress(addr(b0)));
          expect(aliceJoin.from).toMatch(fromAddress(addr(a0)));

          alice.write("hello from subnet 1\n");
          bob.write("hello from subnet 2\n");
          const atBob = await waitEvent(
            bob,
            (e) => e.type === "message" && e.text === "hello from subnet 1",
            "bob gets alice's message",
          );
          const atAlice = await waitEvent(
            alice,
            (e) => e.type === "message" && e.text === "hello from subnet 2",
            "alice gets bob's message",
          );
          expect(atBob).toMatchObject({ nick: "alice", id: aliceJoin.id, from: aliceJoin.from });
          expect(atAlice).toMatchObject({ nick: "bob", id: bobJoin.id, from: bobJoin.from });

          // It went through the router: an (S,G) entry per sender, forwarded to the other side.
          const mroutes = await router.mroutes();
          expect(mroutes).toContainEqual(
            expect.objectContaining({
              source: addr(a0),
              group,
              iif: "eth0",
              oifs: ["eth1"],
              packets: expect.any(Number),
            }),
          );
          expect(mroutes).toContainEqual(
            expect.objectContaining({
              source: addr(b0),
              group,
              iif: "eth1",
              oifs: ["eth0"],
            }),
          );
          for (const r of mroutes.filter((m) => m.group === group)) {
            expect(r.packets).toBeGreaterThan(0);
          }

          alice.end();
          expect(await alice.waitForExit(20_000)).toBe(0);
          const leave = await waitEvent(
            bob,
            (e) => e.type === "leave" && e.nick === "alice",
            "bob sees alice leave",
          );
          expect(leave).toMatchObject({ id: aliceJoin.id, reason: "bye" });
          bob.end();
          expect(await bob.waitForExit(20_000)).toBe(0);
          expect(alice.stderr + bob.stderr).toBe("");
        },
        60_000,
      );

      when(
        "--ttl 1 stays on its subnet: the far side never hears it, while --ttl 2 members of the same room cross after it spoke",
        async () => {
          const { subnet1, subnet2, router } = await routed();
          const [a0, a1] = subnet1 as [Host, Host];
          const [b0, b1] = subnet2 as [Host, Host];
          const port = base + offset + 3;
          // TTL 1: alice (subnet 1), bob (subnet 2). TTL 2 witnesses: carol (1), dave (2).
          const alice = member(a0, "alice", port, 1);
          const carol = member(a1, "carol", port, 2);
          const bob = member(b0, "bob", port, 1);
          const dave = member(b1, "dave", port, 2);
          const all = [alice, bob, carol, dave];

          // The TTL-1 members are on the air (their neighbours hear them), and TTL 2 crosses
          // the router in this room both ways.
          await waitForJoins(
            [
              [carol, ["alice", "dave"]],
              [dave, ["bob", "carol"]],
              [alice, ["carol", "dave"]],
              [bob, ["carol", "dave"]],
            ],
            JOIN_MS,
            "the joins each member can hear",
            all,
          ).catch(async (e) => {
            throw new Error(`${e.message}\n${await routerState(router)}`);
          });

          // The TTL-1 members speak; their neighbours get it.
          alice.write("alice, ttl 1\n");
          bob.write("bob, ttl 1\n");
          await waitFor(
            () => gotText(carol, "alice, ttl 1") && gotText(dave, "bob, ttl 1"),
            10_000,
            "the TTL-1 messages reaching their own subnet",
            all,
          );
          // Only then do the TTL-2 members speak: their datagrams leave after the TTL-1 ones,
          // over the same bridge and router. Once they have crossed, anything the router would
          // have forwarded from alice or bob has arrived too.
          carol.write("carol, ttl 2, after alice\n");
          dave.write("dave, ttl 2, after bob\n");
          await waitFor(
            () =>
              gotText(bob, "carol, ttl 2, after alice") &&
              gotText(dave, "carol, ttl 2, after alice") &&
              gotText(alice, "dave, ttl 2, after bob") &&
              gotText(carol, "dave, ttl 2, after bob"),
            10_000,
            "the TTL-2 messages crossing the router both ways",
            all,
          );

          // Silence across the router for TTL 1: no join, no message, nothing at all.
          expect(said(bob, "alice")).toEqual([]);
          expect(said(dave, "alice")).toEqual([]);
          expect(said(alice, "bob")).toEqual([]);
          expect(said(carol, "bob")).toEqual([]);
          // …while the TTL-1 members hear the far TTL-2 member (receiving needs no TTL).
          expect(said(alice, "dave").map((e) => e.type)).toContain("message");
          expect(said(bob, "carol").map((e) => e.type)).toContain("message");

          // The router did get alice's and bob's datagrams (the kernel counts them against
          // an (S,G) entry) and forwarded none: the TTL, not the path, keeps them home.
          const mroutes = (await router.mroutes()).filter((m) => m.group === group);
          for (const h of [a0, b0]) {
            const entry = mroutes.find((m) => m.source === addr(h));
            expect(entry?.packets ?? 0).toBeGreaterThan(0);
          }

          for (const p of all) p.end();
          for (const p of all) expect(await p.waitForExit(20_000)).toBe(0);
          for (const p of all) expect(p.stderr).toBe("");
        },
        60_000,
      );
    }
  });
});
