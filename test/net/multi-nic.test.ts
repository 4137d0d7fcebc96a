/**
 * A member on a host with two NICs (test/helpers/netns.ts createRoutedLab, dual-homed host),
 * joined on both with `-i eth0 -i eth1`, `-i eth1,eth0` or `-i all`, in an IPv4 and an IPv6
 * room, from source and as the binary.
 *
 *   subnet 1 198.18.1.0/24 fd00:18:1::/64: a0 .1 "alice"   dual-homed d0 "dora": eth0 .101
 *   subnet 2 198.18.2.0/24 fd00:18:2::/64: b0 .1 "bob"                           eth1 .101
 *
 * The router routes no multicast here: dora is the only member on both subnets. She hears
 * both (one membership per interface) and sends on one interface, the first `-i` given
 * (with `-i all`, the first by name), so only that subnet hears her. The line mcchat
 * prints on joining names that interface; it is printed when stderr is a terminal, so the
 * test reads it from a short run under script(1).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { events, gotText, joinedId, said } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  implementations,
  type Nic,
  type Proc,
  sharedDualHomedLab,
  stopAll,
} from "../helpers/netns.ts";
import { fromAddress, waitWhileRunning } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.107.1";
const JOIN_MS = 20_000;
const SCRIPT = Bun.which("script") ?? "/usr/bin/script";

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

const GROUP6 = "ff15::107";
const VARIANTS = [
  { flags: ["-i", "eth0", "-i", "eth1"], sendsOn: "eth0", group: GROUP },
  { flags: ["-i", "eth1", "-i", "eth0"], sendsOn: "eth1", group: GROUP },
  { flags: ["-i", "all"], sendsOn: "eth0", group: GROUP },
  { flags: ["-i", "eth1,eth0"], sendsOn: "eth1", group: GROUP6 },
  { flags: ["-i", "all"], sendsOn: "eth0", group: GROUP6 },
] as const;

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  // No multicast routing here, so no smcroute needed: describeLab's root check is enough.
  describeLab(`a member on two subnets${suffix}`, () => {
    const hosts = sharedDualHomedLab();
    const base = label === "source" ? 25_700 : 25_740;
    const room = (group: string, port: number) => ["-y", "-g", group, "-p", String(port), "--json"];

    describe.each(VARIANTS.map((v, i) => ({ ...v, i, shown: `${v.group} ${v.flags.join(" ")}` })))(
      "$shown",
      ({ flags, sendsOn, group, i }) => {
        const v6 = group.includes(":");
        const addr = (n: { address: string; address6: string }) => (v6 ? n.address6 : n.address);
        when(
          `hears both subnets, is heard on ${sendsOn}'s subnet only, and says it sends on ${sendsOn}`,
          async () => {
            const { a0, b0, d0 } = await hosts();
            const port = base + 2 * i + 1;
            const sendNic = d0.nics.find((n) => n.name === sendsOn) as Nic;
            const [near, far] = sendsOn === "eth0" ? ["alice", "bob"] : ["bob", "alice"];

            const alice = a0.spawn([...mcchat, ...room(group, port), "-n", "alice"], {
              stdin: "pipe",
            });
            const bob = b0.spawn([...mcchat, ...room(group, port), "-n", "bob"], { stdin: "pipe" });
            const dora = d0.spawn([...mcchat, ...room(group, port), ...flags, "-n", "dora"], {
              stdin: "pipe",
            });
            const all = [alice, bob, dora];
            const byNick = { alice, bob } as Record<string, Proc>;
            const nearP = byNick[near] as Proc;
            const farP = byNick[far] as Proc;

            const what = `dora hears both subnets, ${near} hears dora`;
            await waitWhileRunning(
              all,
              () =>
                !!joinedId(dora, "alice") && !!joinedId(dora, "bob") && !!joinedId(nearP, "dora"),
              JOIN_MS,
              what,
            );
            const joins = (nick: string) =>
              events(dora).find((e) => e.type === "join" && e.nick === nick);
            expect(joins("alice")?.from).toMatch(fromAddress(addr(a0)));
            expect(joins("bob")?.from).toMatch(fromAddress(addr(b0)));
            const doraJoin = events(nearP).find((e) => e.type === "join" && e.nick === "dora");
            // She sends from the address of the interface she sends on.
            expect(doraJoin?.from).toMatch(fromAddress(addr(sendNic)));

            alice.write("alice on subnet 1\n");
            bob.write("bob on subnet 2\n");
            dora.write(`dora via ${sendsOn}\n`);
            await waitWhileRunning(
              all,
              () =>
                gotText(dora, "alice on subnet 1") &&
                gotText(dora, "bob on subnet 2") &&
                gotText(nearP, `dora via ${sendsOn}`),
              10_000,
              `dora gets both subnets' messages, ${near} gets dora's`,
            );
            // dora does not forward: alice and bob never hear each other; and the far
            // subnet does not hear dora, who sends on one interface only.
            expect(said(alice, "bob")).toEqual([]);
            expect(said(bob, "alice")).toEqual([]);
            expect(said(farP, "dora")).toEqual([]);
            // Each message once, though dora is joined twice.
            for (const text of ["alice on subnet 1", "bob on subnet 2"]) {
              expect(events(dora).filter((e) => e.text === text)).toHaveLength(1);
            }

            for (const p of all) p.end();
            for (const p of all) expect(await p.waitForExit(20_000)).toBe(0);
            for (const p of all) expect(p.stderr).toBe("");

            // The joined line, as a terminal shows it: names the sending interface.
            const tty = d0.spawn([
              SCRIPT,
              "-qfec",
              [...mcchat, ...room(group, port + 20), ...flags, "--listen", "--timeout", "1"]
                .map(shq)
                .join(" "),
              "/dev/null",
            ]);
            expect(await tty.waitForExit(20_000)).toBe(0);
            const joined = tty.lines().find((l) => / joined /.test(l));
            expect(joined).toBeDefined();
            expect(joined).toContain(`sending on ${sendsOn} (${addr(sendNic)})`);
          },
          60_000,
        );
      },
    );
  });
});
