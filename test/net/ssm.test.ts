/**
 * Source-specific joins (`--source ADDR`): a member hears only what one host sends to the
 * group, from source and as the binary. Groups stay in 239.0.0.0/8 and ff15::/16 (Linux
 * filters per socket, whatever the group); the SSM ranges 232/8 and ff3x::/32 would need
 * --source too but are not used on the lab.
 *
 *   h0 198.18.0.1 fd00:18::1  "alice"  (any-source member; the chosen source)
 *   h1 198.18.0.2 fd00:18::2  "bob"    (any-source member; not the source)
 *   h2 198.18.0.3 fd00:18::3  "carol"  --source <h0's address>
 *
 * Silence is proved by order: bob speaks, alice hears him, only then alice speaks; once
 * carol has alice's message, bob's earlier one (same bridge) would have arrived too.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { gotText, joinedId, said } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  failIfExited,
  type Host,
  implementations,
  type Lab,
  legacyPeerCommand,
  type Proc,
  retryUntil,
  stopAll,
} from "../helpers/netns.ts";
import { waitWhileRunning } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const JOIN_MS = 20_000;
const LEGACY = legacyPeerCommand();

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";
  const base = label === "source" ? 25_900 : 25_940;

  describeLab(`--source: one sender of a group${suffix}`, () => {
    let lab: Lab | undefined;
    afterAll(() => lab?.destroy());
    const hosts = async () => {
      lab ??= await createLab(3);
      return lab.hosts as [Host, Host, Host];
    };

    const FAMILIES = [
      { family: "IPv4", group: "239.1.108.1", port: base + 1, v6: false },
      { family: "IPv6", group: "ff15::108", port: base + 3, v6: true },
    ] as const;

    describe.each(FAMILIES)("$family group $group", ({ group, port, v6 }) => {
      when(
        "the --source member hears the chosen host only; everyone hears it",
        async () => {
          const [h0, h1, h2] = await hosts();
          const source = v6 ? h0.address6 : h0.address;
          const room = ["-y", "-g", group, "-p", String(port), "--json"];
          const iface = v6 ? ["-i", "eth0"] : [];
          const spawn = (h: Host, nick: string, extra: string[] = []) =>
            h.spawn([...mcchat, ...room, ...iface, ...extra, "-n", nick], { stdin: "pipe" });
          const alice = spawn(h0, "alice");
          const bob = spawn(h1, "bob");
          const carol = spawn(h2, "carol", ["--source", source]);
          const all = [alice, bob, carol];
          await waitWhileRunning(
            all,
            () =>
              [
                [alice, "bob"],
                [alice, "carol"],
                [bob, "alice"],
                [bob, "carol"],
                [carol, "alice"],
              ].every(([p, nick]) => !!joinedId(p as Proc, nick as string)),
            JOIN_MS,
            "the joins (carol hears alice; alice and bob hear everyone)",
          );

          bob.write("bob speaks first\n");
          await waitWhileRunning(
            all,
            () => gotText(alice, "bob speaks first"),
            10_000,
            "alice hears bob",
          );
          alice.write("alice speaks after bob\n");
          await waitWhileRunning(
            all,
            () =>
              gotText(carol, "alice speaks after bob") && gotText(bob, "alice speaks after bob"),
            10_000,
            "carol and bob hear alice",
          );
          // Sending is not filtered: carol's message reaches both.
          carol.write("carol to all\n");
          await waitWhileRunning(
            all,
            () => gotText(alice, "carol to all") && gotText(bob, "carol to all"),
            10_000,
            "alice and bob hear carol",
          );
          expect(said(carol, "bob")).toEqual([]);

          // Legacy text on the room port is filtered the same way: by the sending host.
          if (!v6) {
            // h1's datagram always leaves before h0's.
            await retryUntil(
              async () => {
                await h1.exec([...LEGACY, "send", group, String(port), "legacy text from h1"]);
                await h0.exec([...LEGACY, "send", group, String(port), "legacy text from h0"]);
              },
              () => {
                failIfExited(all);
                return (
                  gotText(carol, "legacy text from h0") && gotText(alice, "legacy text from h1")
                );
              },
              { attempts: 20, intervalMs: 250, what: "legacy text at carol and alice" },
            );
            expect(gotText(carol, "legacy text from h1")).toBe(false);
          }

          for (const p of all) p.end();
          for (const p of all) expect(await p.waitForExit(20_000)).toBe(0);
          for (const p of all) expect(p.stderr).toBe("");
        },
        60_000,
      );
    });
  });
});
