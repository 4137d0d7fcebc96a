/**
 * `mcchat doctor` on lab hosts (issue 10), from source and as the compiled binary:
 *
 *   h0 198.18.0.1  mcchat doctor
 *   h1 198.18.0.2  an mcchat member ("alice", --listen: it still sends HELLO/HEARTBEAT)
 *   h2 198.18.0.3  a legacy sender: socat, plain text to the room port
 *   h3 198.18.0.4  its 224.0.0.0/4 route deleted (and, like every lab host, no default route)
 *
 * Readiness: doctor lists whom it hears in its listening window; it is run again (bounded)
 * until the member and the legacy sender are both listed.
 */
import { afterEach, expect, test } from "bun:test";
import { checksById, doctorUntil, type JsonReport, listeningMember } from "../helpers/doctor.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.61";
const SOCAT = Bun.which("socat");

/** The member on h1 and the socat sender on h2, for one port. */
function startRoom(h1: Host, h2: Host, mcchat: string[], port: number): Proc[] {
  if (!SOCAT) throw new Error("socat is not installed (Debian package socat)");
  const member = listeningMember(h1, mcchat, "alice", ["-g", GROUP, "-p", String(port)]);
  // SYSTEM runs the loop through sh; once socat is stopped, the loop's next echo fails and
  // `set -e` ends it (it is bounded anyway).
  const legacy = h2.spawn([
    SOCAT,
    "-u",
    "SYSTEM:set -e; for i in $(seq 300); do echo hello from socat; sleep 0.2; done",
    `UDP4-DATAGRAM:${GROUP}:${port},ip-multicast-ttl=1`,
  ]);
  return [member, legacy];
}

const hearsBoth = (r: JsonReport) =>
  r.members.some((m) => m.nick === "alice") &&
  r.legacy.some((l) => l.sample === "hello from socat");

for (const [n, impl] of implementations().entries()) {
  describeLab(`mcchat doctor (${impl.label})`, () => {
    const lab = sharedLab(4);
    const port = 26100 + n * 20;

    test.skipIf(!impl.available)(
      "a lab host passes every check and lists the member on another host and the legacy sender",
      async () => {
        const [h0, h1, h2] = await lab();
        const [member] = startRoom(h1, h2, impl.argv, port);
        const { code, report, byId } = await doctorUntil(
          h0,
          impl.argv,
          ["-g", GROUP, "-p", String(port)],
          hearsBoth,
        );
        expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
        expect(code).toBe(0);
        expect(report.ok).toBe(true);
        expect(byId.interfaces).toMatchObject({
          status: "ok",
          summary: "1 interface can carry the room: eth0",
        });
        expect(byId.route).toMatchObject({
          status: "ok",
          summary: `${GROUP} → 224.0.0.0/4 dev eth0`,
        });
        expect(byId["rp-filter"]?.status).toBe("ok");
        expect(byId.join?.status).toBe("ok");
        expect(byId.membership).toMatchObject({
          status: "ok",
          summary: `${GROUP} joined on eth0 (/proc/net/igmp)`,
        });
        expect(byId.loopback?.status).toBe("ok");
        expect(byId.room?.status).toBe("ok");
        // rmem_max is the machine's (not per namespace): ok at 8 MiB or more, else a warning.
        expect(["ok", "warn"]).toContain(byId["recv-buffer"]?.status ?? "");
        const alice = report.members.find((m) => m.nick === "alice");
        expect(alice?.from).toMatch(/^198\.18\.0\.2:\d+$/);
        expect(alice?.id).toMatch(/^[0-9a-f]{16}$/);
        const socat = report.legacy.find((l) => l.sample === "hello from socat");
        expect(socat?.from).toMatch(/^198\.18\.0\.3:\d+$/);
        expect(socat?.bridgedBy).toBeUndefined();
        // doctor's probes are not a member: alice heard socat's text, and no one joined.
        expect(member?.stdout).toContain("hello from socat");
        expect(member?.stdout).not.toContain("joined");
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      "the human report names each check and the verdict",
      async () => {
        const [h0] = await lab();
        const r = await h0.exec(
          [...impl.argv, "doctor", "-g", GROUP, "-p", String(port + 2), "--timeout", "0.5"],
          {
            check: false,
            timeoutMs: 20_000,
          },
        );
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(
          `mcchat doctor: room ${GROUP} port ${port + 2} (frames on ${port + 3}), IPv4, ttl 1, linux`,
        );
        expect(r.stdout).toMatch(
          /^ {2}ok {3}route {8}239\.1\.100\.61 → 224\.0\.0\.0\/4 dev eth0$/m,
        );
        expect(r.stdout).toMatch(/^ {2}warn room {9}heard no one in 0\.5 s/m);
        expect(r.stdout).toMatch(/^verdict: no check failed/m);
        expect(r.stderr).toBe("");
      },
      30_000,
    );

    test.skipIf(!impl.available)(
      "an interface without the MULTICAST flag still carries IPv4 multicast on Linux: a warning naming the flag",
      async () => {
        const [, , h2] = await lab();
        await h2.exec(["ip", "link", "set", "eth0", "multicast", "off"]);
        try {
          const args = [
            "doctor",
            "--json",
            "-g",
            GROUP,
            "-p",
            String(port + 6),
            "--timeout",
            "0.5",
          ];
          const r = await h2.exec([...impl.argv, ...args], { check: false, timeoutMs: 20_000 });
          const report = JSON.parse(r.stdout) as JsonReport;
          const byId = checksById(report);
          expect(byId.interfaces).toMatchObject({
            status: "warn",
            summary: "eth0 can carry the room, but eth0 has no MULTICAST flag",
            fix: "ip link set eth0 multicast on",
          });
          for (const id of ["route", "join", "membership", "loopback"]) {
            expect(byId[id]?.status).toBe("ok");
          }
          expect(r.code).toBe(0);
        } finally {
          await h2.exec(["ip", "link", "set", "eth0", "multicast", "on"]);
        }
      },
      30_000,
    );

    test.skipIf(!impl.available)(
      "--source: only the chosen member is listed; --ttl 0: joined on the loopback, only this host",
      async () => {
        const [h0, h1, h2] = await lab();
        const room = ["-g", GROUP, "-p", String(port + 8)];
        for (const [host, nick] of [
          [h1, "alice"],
          [h2, "carol"],
        ] as const) {
          listeningMember(host, impl.argv, nick, room);
        }
        // Both are in the room (doctor without --source hears both) …
        const all = await doctorUntil(h0, impl.argv, room, (r) =>
          ["alice", "carol"].every((nick) => r.members.some((m) => m.nick === nick)),
        );
        expect(all.report.members.map((m) => m.nick).sort()).toEqual(["alice", "carol"]);
        // … and with --source h1, only alice is heard.
        const ssm = await doctorUntil(h0, impl.argv, [...room, "--source", h1.address], (r) =>
          r.members.some((m) => m.nick === "alice"),
        );
        expect(ssm.report.checks.filter((c) => c.status === "fail")).toEqual([]);
        expect(ssm.code).toBe(0);
        expect(ssm.report.members.map((m) => m.nick)).toEqual(["alice"]);
        expect(ssm.report.checks.find((c) => c.id === "room")?.details).toContain(
          `--source: only ${h1.address} can be heard`,
        );
        // --ttl 0: the loopback, no route needed, nobody from the other hosts.
        const local = await h0.exec(
          [...impl.argv, "doctor", "--json", ...room, "--ttl", "0", "--timeout", "1"],
          {
            check: false,
            timeoutMs: 20_000,
          },
        );
        const report = JSON.parse(local.stdout) as JsonReport;
        const byId = checksById(report);
        expect(byId.interfaces).toMatchObject({
          status: "ok",
          summary: "joining on lo (127.0.0.1)",
        });
        expect(byId.route).toMatchObject({
          status: "ok",
          summary: "--ttl 0: joined and sent on the loopback, no route needed",
        });
        expect(byId.membership).toMatchObject({
          status: "ok",
          summary: `${GROUP} joined on lo (/proc/net/igmp)`,
        });
        expect(byId.loopback?.status).toBe("ok");
        expect(report.members).toEqual([]);
        expect(local.code).toBe(0);
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      "an encrypted room's member is listed as encrypted traffic, without a nick",
      async () => {
        const [h0, h1] = await lab();
        const room = ["-g", GROUP, "-p", String(port + 10)];
        listeningMember(h1, impl.argv, "eve", room, {
          env: { MCCHAT_PASSPHRASE: "correct horse battery staple" },
        });
        const { code, report } = await doctorUntil(
          h0,
          impl.argv,
          room,
          (r) => (r.encrypted ?? []).length > 0,
        );
        expect(report.encrypted?.map((e) => e.from)).toEqual([
          expect.stringMatching(/^198\.18\.0\.2:\d+$/),
        ]);
        expect(report.members).toEqual([]);
        expect(report.checks.find((c) => c.id === "room")).toMatchObject({
          status: "ok",
          summary: expect.stringMatching(/^heard 1 encrypted sender in 1\.5 s$/),
        });
        expect(code).toBe(0);
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      "a host without a multicast route and without a default route fails, naming the fix; --interface is that fix",
      async () => {
        const [, , , h3] = await lab();
        await h3.exec(["ip", "route", "del", "224.0.0.0/4", "dev", "eth0"], { check: false });
        const routes = await h3.exec(["ip", "route", "show"]);
        expect(routes.stdout).not.toContain("224.0.0.0/4");
        expect(routes.stdout).not.toContain("default");
        const args = ["doctor", "-g", GROUP, "-p", String(port + 4), "--timeout", "0.5"];
        const r = await h3.exec([...impl.argv, ...args], { check: false, timeoutMs: 20_000 });
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(
          new RegExp(`FAIL route +no route for ${GROUP.replaceAll(".", "\\.")}`),
        );
        expect(r.stdout).toContain(
          "fix: add one (ip route add 224.0.0.0/4 dev eth0) or pass --interface eth0",
        );
        expect(r.stdout).toMatch(/FAIL join +cannot join/);
        expect(r.stdout).toMatch(/^verdict: \d checks failed/m);
        const json = await h3.exec([...impl.argv, ...args, "--json"], {
          check: false,
          timeoutMs: 20_000,
        });
        expect(json.code).toBe(1);
        const report = JSON.parse(json.stdout) as JsonReport;
        expect(report.ok).toBe(false);
        expect(report.checks.find((c) => c.id === "route")).toMatchObject({
          status: "fail",
          fix: "add one (ip route add 224.0.0.0/4 dev eth0) or pass --interface eth0",
        });
        // The fix named works: joined and sent on eth0 by address, no route needed.
        const fixed = await h3.exec([...impl.argv, ...args, "--interface", "eth0"], {
          check: false,
          timeoutMs: 20_000,
        });
        expect(fixed.stdout).not.toContain("FAIL");
        expect(fixed.stdout).toMatch(/ok {3}loopback/);
        expect(fixed.stdout).toContain("joined on eth0 (198.18.0.4)");
        expect(fixed.stdout).toContain("sending on eth0 (198.18.0.4)");
        expect(fixed.code).toBe(0);
      },
      60_000,
    );
  });
}
