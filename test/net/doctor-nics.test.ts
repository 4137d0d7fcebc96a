/**
 * `mcchat doctor` for issue 10's rooms, from source and as the compiled binary: an IPv6 group
 * between two lab hosts (ff00::/8 routed out of eth0, memberships in /proc/net/igmp6), and a
 * dual-homed host (createRoutedLab, no multicast routing) where `-i all` joins both subnets
 * and doctor lists a member on each, while without -i it names the interface left out.
 *
 *   IPv6: h0 fd00:18::1 doctor; h1 fd00:18::2 member "alice" (-i eth0)
 *   NICs: a0 198.18.1.1 "alice" | d0 eth0 198.18.1.101, eth1 198.18.2.101 doctor | b0 198.18.2.1 "bob"
 */
import { afterEach, expect, test } from "bun:test";
import { doctorUntil, type JsonReport, listeningMember } from "../helpers/doctor.ts";
import {
  assertPrivateNetns,
  describeLab,
  implementations,
  sharedDualHomedLab,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const heard = (r: JsonReport, nick: string) => r.members.find((m) => m.nick === nick);

for (const [n, impl] of implementations().entries()) {
  const when = impl.available ? test : test.skip;

  describeLab(`mcchat doctor, IPv6 (${impl.label})`, () => {
    const lab = sharedLab(2);
    const GROUP6 = "ff15::61";
    const port = 26200 + n * 10;

    when(
      "an IPv6 room: route ff00::/8, membership in igmp6, the member on another host",
      async () => {
        const [h0, h1] = await lab();
        listeningMember(h1, impl.argv, "alice", ["-g", GROUP6, "-p", String(port), "-i", "eth0"]);
        const { code, report, byId } = await doctorUntil(
          h0,
          impl.argv,
          ["-g", GROUP6, "-p", String(port)],
          (r) => heard(r, "alice") !== undefined,
        );
        expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
        expect(byId.route?.status).toBe("ok");
        // The lab routes ff00::/8 out of eth0 (metric 1) besides the kernel's own (256).
        expect(byId.route?.summary).toMatch(/^ff15::61 → ff00::\/8 dev eth0( metric \d+)?$/);
        expect(byId["rp-filter"]?.status).toBe("skip");
        expect(byId.membership).toMatchObject({
          status: "ok",
          summary: `${GROUP6} joined on eth0 (/proc/net/igmp6)`,
        });
        expect(byId.loopback?.status).toBe("ok");
        expect(heard(report, "alice")?.from).toMatch(/^\[fd00:18::2\]:\d+$/);
        expect(code).toBe(0);
      },
      60_000,
    );
  });

  // A routed lab that routes no multicast (sharedDualHomedLab): root is enough.
  describeLab(`mcchat doctor on a dual-homed host (${impl.label})`, () => {
    const hosts = sharedDualHomedLab();
    const GROUP = "239.1.107.61";
    const port = 26240 + n * 10;
    const room = ["-g", GROUP, "-p", String(port)];

    when(
      "-i all: joined on eth0 and eth1, a member heard on each subnet",
      async () => {
        const { a0, b0, d0 } = await hosts();
        listeningMember(a0, impl.argv, "alice", room);
        listeningMember(b0, impl.argv, "bob", room);
        const { code, report, byId } = await doctorUntil(
          d0,
          impl.argv,
          [...room, "-i", "all"],
          (r) => heard(r, "alice") !== undefined && heard(r, "bob") !== undefined,
        );
        expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
        expect(byId.interfaces).toMatchObject({
          status: "ok",
          summary: "joining on eth0 (198.18.1.101), eth1 (198.18.2.101)",
        });
        expect(byId.join?.details).toEqual([
          "joined on eth0 (198.18.1.101), eth1 (198.18.2.101)",
          "sending on eth0 (198.18.1.101)",
        ]);
        expect(byId.membership).toMatchObject({
          status: "ok",
          summary: `${GROUP} joined on eth0, eth1 (/proc/net/igmp)`,
        });
        expect(heard(report, "alice")?.from).toMatch(/^198\.18\.1\.1:\d+$/);
        expect(heard(report, "bob")?.from).toMatch(/^198\.18\.2\.1:\d+$/);
        expect(code).toBe(0);
      },
      60_000,
    );

    when(
      "without -i: joined on eth0 only; the route check names eth1 and -i all",
      async () => {
        const { a0, b0, d0 } = await hosts();
        listeningMember(a0, impl.argv, "alice", room);
        listeningMember(b0, impl.argv, "bob", room);
        const { report, byId } = await doctorUntil(
          d0,
          impl.argv,
          room,
          (r) => heard(r, "alice") !== undefined,
        );
        expect(byId.route?.status).toBe("ok");
        expect(byId.route?.details).toContain(
          "eth1 can carry multicast too, but the room is joined on eth0 only: -i all joins every interface",
        );
        expect(byId.membership?.summary).toBe(`${GROUP} joined on eth0 (/proc/net/igmp)`);
        expect(heard(report, "alice")).toBeDefined();
        expect(heard(report, "bob")).toBeUndefined();
      },
      60_000,
    );
  });
}
