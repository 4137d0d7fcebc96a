/**
 * IPv6 rooms (group ff15::/16, udp6 sockets) between lab hosts, from source and as the
 * binary. Every lab host has a ULA on eth0 (test/helpers/netns.ts: fd00:18::1, ::2, …,
 * no duplicate address detection) and sends IPv6 multicast out of eth0 by default.
 *
 *   one subnet:  h0 fd00:18::1 "alice", h1 fd00:18::2 "bob", h2 fd00:18::3 socat (legacy)
 *
 * A member's address in --json is "[addr]:port" for IPv6. An IPv6 room across a router
 * (--ttl 2 as hop limit) is in routed.test.ts.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { events, gotText, joinedId, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  failIfExited,
  type Host,
  implementations,
  type Lab,
  type Proc,
  retryUntil,
  stopAll,
} from "../helpers/netns.ts";
import { fromAddress, waitWhileRunning } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "ff15::106";
const JOIN_MS = 20_000;
const SOCAT = Bun.which("socat");

/**
 * Two members on `x` and `y` with the given flags each: they see each other join (from
 * their IPv6 addresses), exchange a message each way, leave with BYE and exit 0.
 */
async function converse(
  mcchat: string[],
  room: string[],
  [x, xFlags]: [Host, string[]],
  [y, yFlags]: [Host, string[]],
): Promise<[Proc, Proc]> {
  const alice = x.spawn([...mcchat, ...room, ...xFlags, "-n", "alice"], { stdin: "pipe" });
  const bob = y.spawn([...mcchat, ...room, ...yFlags, "-n", "bob"], { stdin: "pipe" });
  const both = [alice, bob];
  await waitWhileRunning(
    both,
    () => !!joinedId(alice, "bob") && !!joinedId(bob, "alice"),
    JOIN_MS,
    "alice and bob see each other join",
  );
  const bobJoin = events(alice).find((e) => e.type === "join" && e.nick === "bob");
  const aliceJoin = events(bob).find((e) => e.type === "join" && e.nick === "alice");
  expect(bobJoin?.from).toMatch(fromAddress(y.address6));
  expect(aliceJoin?.from).toMatch(fromAddress(x.address6));

  alice.write("hello over IPv6\n");
  bob.write("hello back, 你好\n");
  await waitWhileRunning(
    both,
    () => gotText(bob, "hello over IPv6") && gotText(alice, "hello back, 你好"),
    10_000,
    "a message each way",
  );
  expect(events(bob).find((e) => e.text === "hello over IPv6")).toMatchObject({
    nick: "alice",
    id: aliceJoin?.id,
    from: aliceJoin?.from,
  });

  alice.end();
  expect(await alice.waitForExit(20_000)).toBe(0);
  await waitFor(
    () => events(bob).some((e) => e.type === "leave" && e.nick === "alice" && e.reason === "bye"),
    10_000,
    "bob sees alice leave",
    both,
  );
  bob.end();
  expect(await bob.waitForExit(20_000)).toBe(0);
  expect(alice.stderr + bob.stderr).toBe("");
  return [alice, bob];
}

describeLab("the lab's IPv6", () => {
  test("every host has fd00:18::<n>/64 on eth0, usable at once, and sends ff00::/8 out of eth0", async () => {
    const lab = await createLab(2);
    try {
      const [h0, h1] = lab.hosts as [Host, Host];
      expect([h0.address6, h1.address6]).toEqual(["fd00:18::1", "fd00:18::2"]);
      expect(h1.nics).toEqual([{ name: "eth0", address: "198.18.0.2", address6: "fd00:18::2" }]);
      const addrs = await h1.exec(["ip", "-6", "addr", "show", "dev", "eth0"]);
      expect(addrs.stdout).toContain("inet6 fd00:18::2/64");
      expect(addrs.stdout).not.toContain("tentative");
      expect((await h1.exec(["ip", "-6", "route", "get", GROUP])).stdout).toContain("dev eth0");
    } finally {
      await lab.destroy();
    }
  }, 30_000);
});

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";
  const base = label === "source" ? 25_800 : 25_840;
  const room = (port: number) => ["-y", "-g", GROUP, "-p", String(port), "--json"];

  describeLab(`an IPv6 room on one subnet${suffix}`, () => {
    let lab: Lab | undefined;
    afterAll(() => lab?.destroy());
    const hosts = async () => {
      lab ??= await createLab(3);
      return lab.hosts as [Host, Host, Host];
    };

    when(
      "-i eth0: two hosts see each other join and talk",
      async () => {
        const [h0, h1] = await hosts();
        await converse(mcchat, room(base + 1), [h0, ["-i", "eth0"]], [h1, ["-i", "eth0"]]);
      },
      60_000,
    );

    when(
      "-i <IPv6 address>: two hosts see each other join and talk",
      async () => {
        const [h0, h1] = await hosts();
        await converse(
          mcchat,
          room(base + 3),
          [h0, ["-i", h0.address6]],
          [h1, ["-i", h1.address6]],
        );
      },
      60_000,
    );

    when(
      "no -i: the system's choice (the route for ff00::/8)",
      async () => {
        const [h0, h1] = await hosts();
        await converse(mcchat, room(base + 5), [h0, []], [h1, []]);
      },
      60_000,
    );

    when(
      "an encrypted room: the group spelt two ways is one room (its canonical text salts the key)",
      async () => {
        const [h0, h1] = await hosts();
        const dir = mkdtempSync(join(tmpdir(), "mcchat-ipv6-"));
        const pass = join(dir, "pass");
        writeFileSync(pass, "ipv6 room passphrase\n", { mode: 0o600 });
        try {
          const sealed = ["--passphrase-file", pass, "-i", "eth0"];
          // The last -g wins: alice's group is written in upper case, uncompressed.
          const [alice] = await converse(
            mcchat,
            room(base + 9),
            [h0, [...sealed, "-g", "FF15:0:0:0::106"]],
            [h1, sealed],
          );
          expect(alice.stdout).toContain("hello back, 你好");
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      60_000,
    );

    (SOCAT ? when : test.skip)(
      `a legacy IPv6 peer (socat): its text reaches a member, a --legacy member's text reaches it${SOCAT ? "" : " [skipped: socat not installed]"}`,
      async () => {
        const [h0, , h2] = await hosts();
        const port = base + 7;
        const alice = h0.spawn(
          [...mcchat, ...room(port), "-i", "eth0", "--legacy", "-n", "alice"],
          {
            stdin: "pipe",
          },
        );
        const ear = h2.spawn([
          SOCAT as string,
          "-u",
          `UDP6-RECV:${port},reuseaddr,ipv6-join-group=[${GROUP}]:eth0`,
          "-",
        ]);
        // The peer speaks until alice shows it (she is listening by then).
        const legacyText = "plain text from an IPv6 legacy program";
        await retryUntil(
          () =>
            h2.exec([SOCAT as string, "-u", "-", `UDP6-SENDTO:[${GROUP}]:${port}`], {
              stdin: legacyText,
            }),
          () => {
            failIfExited([alice, ear], "the legacy text reaching alice");
            return gotText(alice, legacyText);
          },
          { attempts: 20, intervalMs: 500, what: "the legacy text reaching alice" },
        );
        const shown = events(alice).find((e) => e.text === legacyText);
        expect(shown).toMatchObject({ type: "message", legacy: true });
        expect(shown?.from).toMatch(fromAddress(h2.address6));
        // alice's messages go to the legacy port as plain text too (--legacy): she speaks
        // until the peer has one (it is listening by then).
        await retryUntil(
          (n) => alice.write(`to the legacy program ${n}\n`),
          () => {
            failIfExited([alice, ear], "alice's text reaching the socat receiver");
            return /to the legacy program \d+/.test(ear.stdout);
          },
          { attempts: 20, intervalMs: 500, what: "alice's text reaching the socat receiver" },
        );
        // Nothing else on the legacy port: the peer's own text (looped back) and alice's
        // plain text, no frame.
        expect(ear.stdout.replaceAll(legacyText, "")).toMatch(/^(to the legacy program \d+)+$/);
        alice.end();
        expect(await alice.waitForExit(20_000)).toBe(0);
        expect(alice.stderr).toBe("");
      },
      60_000,
    );
  });
});
