/**
 * `--ttl 0`: this host only (issue 10: mcchat 0.1 failed with EINVAL, Bun's
 * setMulticastTTL(0) throws). An IPv4 room is joined and sent on the loopback interface
 * with TTL 1 on the wire; an IPv6 one needs an interface-local group (ff01::/16), which
 * the kernel loops back and never transmits. From source and as the binary.
 *
 *   runner's namespace (no root needed): two --ttl 0 members hear each other
 *   lab, h0 198.18.0.1: alice and bob (--ttl 0; lo without the MULTICAST flag, as on a
 *                       real host), dave (--ttl 1, the control: heard on h1)
 *        h1 198.18.0.2: carol (--ttl 1, listening): hears dave, never alice or bob
 */
import { afterEach, describe, expect, test } from "bun:test";
import { events, joinedId, messageTexts } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  localHost,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { waitWhileRunning } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const JOIN_MS = 20_000;

/** alice and bob on `host` with `flags`: they see each other join and alice's line reaches bob. */
async function hostOnlyPair(
  host: Host,
  mcchat: string[],
  flags: string[],
  text: string,
): Promise<[Proc, Proc]> {
  const alice = host.spawn([...mcchat, ...flags, "-n", "alice"], { stdin: "pipe" });
  const bob = host.spawn([...mcchat, ...flags, "-n", "bob"], { stdin: "pipe" });
  const both = [alice, bob];
  await waitWhileRunning(
    both,
    () => !!joinedId(alice, "bob") && !!joinedId(bob, "alice"),
    JOIN_MS,
    "the two --ttl 0 members see each other join",
  );
  alice.write(`${text}\n`);
  await waitWhileRunning(
    both,
    () => messageTexts(bob).includes(text),
    10_000,
    "bob gets alice's line",
  );
  return [alice, bob];
}

/** Ends `p`'s input and expects a clean exit with nothing on stderr. */
async function leaves(p: Proc): Promise<void> {
  p.end();
  expect(await p.waitForExit(20_000)).toBe(0);
  expect(p.stderr).toBe("");
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";
  const base = label === "source" ? 26_900 : 26_940;

  describe(`--ttl 0 in the runner's namespace${suffix}`, () => {
    when(
      "two members with --ttl 0 hear each other, then leave with exit 0",
      async () => {
        const room = ["-y", "--ttl", "0", "-p", String(base + 1), "--json"];
        const [alice, bob] = await hostOnlyPair(localHost(), mcchat, room, "here only");
        const from = events(bob).find((e) => e.type === "join" && e.nick === "alice")?.from;
        expect(from).toMatch(/^127\.0\.0\.1:\d+$/);
        await leaves(alice);
        await leaves(bob);
      },
      60_000,
    );
  });

  describeLab(`--ttl 0 on a lab host: heard there, not on the link${suffix}`, () => {
    const hosts = sharedLab(2);

    when(
      "IPv4: alice and bob (--ttl 0) talk on h0; carol on h1 hears dave (--ttl 1) from h0 but never them",
      async () => {
        const [h0, h1] = await hosts();
        // A real host's loopback: no MULTICAST flag (IFF_MULTICAST = 0x1000), no route for it.
        const flags = Number((await h0.exec(["cat", "/sys/class/net/lo/flags"])).stdout.trim());
        expect(flags & 0x1000).toBe(0);

        const room = (ttl: string) => ["-y", "--ttl", ttl, "-p", String(base + 2), "--json"];
        const carol = h1.spawn([...mcchat, ...room("1"), "--listen", "-n", "carol"]);
        const dave = h0.spawn([...mcchat, ...room("1"), "-n", "dave"], { stdin: "pipe" });
        await waitWhileRunning(
          [carol, dave],
          () => !!joinedId(carol, "dave"),
          JOIN_MS,
          "carol (h1) sees dave (h0, --ttl 1) join: the link carries the room",
        );

        const [alice, bob] = await hostOnlyPair(h0, mcchat, room("0"), "stays on h0");
        expect(events(bob).find((e) => e.type === "join" && e.nick === "alice")?.from).toMatch(
          /^127\.0\.0\.1:\d+$/,
        );
        // Sent after everything alice and bob sent so far, on the same path to h1.
        dave.write("after them\n");
        const everyone = [alice, bob, carol, dave];
        await waitWhileRunning(
          everyone,
          () => messageTexts(carol).includes("after them"),
          10_000,
          "carol gets dave's line",
        );
        const heard = events(carol).filter((e) => e.nick === "alice" || e.nick === "bob");
        expect(heard).toEqual([]);
        expect(messageTexts(carol)).not.toContain("stays on h0");

        await leaves(alice);
        await leaves(bob);
        await leaves(dave);
        expect(carol.stderr).toBe("");
      },
      90_000,
    );

    when(
      "IPv6: an interface-local group (ff01::) with --ttl 0; ff15:: with --ttl 0 is refused in one line",
      async () => {
        const [h0] = await hosts();
        const port = String(base + 3);
        const room = ["-y", "-g", "ff01::1:6", "--ttl", "0", "-p", port, "--json"];
        const [alice, bob] = await hostOnlyPair(h0, mcchat, room, "ff01 stays here");
        await leaves(alice);
        await leaves(bob);

        const refused = await h0.exec(
          [...mcchat, "-y", "-g", "ff15::1:6", "--ttl", "0", "-p", port, "--listen"],
          { check: false, timeoutMs: 20_000 },
        );
        expect(refused.code).toBe(2);
        expect(refused.stderr).toBe(
          "mcchat: --ttl 0 (this host only) with an IPv6 group needs an interface-local group (ff01::/16), not ff15::1:6: IPv6 multicast cannot be kept on the loopback\n",
        );
      },
      90_000,
    );
  });
});
