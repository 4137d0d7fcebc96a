/**
 * Issue 15, encrypted rooms between lab hosts with real processes (PROTOCOL.md §10.4, §10.7):
 *
 * 1. A capture replayed to a member that joined after it shows nothing (and --stats counts it
 *    replayed), while a member that starts right after it is shown within 1 s of its first
 *    datagram on the wire.
 * 2. Three doctor-like plaintext datagrams (the REPORT probe `mcchat doctor` 0.3 sends) near an
 *    encrypted room raise no alarm in it; a member with a mistyped passphrase is told within
 *    1 s of its first datagram, before the members name it.
 * 3. Datagrams forged with a member's own address and send port (`FF 4D 01 41` …), from another
 *    host over IPv4 and IPv6, print nothing and the member keeps delivering.
 *
 *   h0 198.18.0.1  the sender (boss, then the listener's partner)
 *   h1 198.18.0.2  the listener: --listen --json --stats
 *   h2 198.18.0.3  (1) the live member; (2) the mistyped passphrase; (3) the forger
 *   h3 198.18.0.4  captures (legacy_peer.py recv on P+1) and replays / sends the probes
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode, randomInstanceId } from "../../src/protocol/index.ts";
import {
  events,
  joinedId,
  messages,
  saidOnStderr,
  sealedStatsOf,
  waitEvent,
  waitFor,
} from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  legacyPeerCommand,
  type Proc,
  ROOT,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, legacyReceiver, waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.181.1";
const GROUP6 = "ff15::181";
const LEGACY = legacyPeerCommand();
const FORGE = [Bun.which("python3") ?? "python3", join(ROOT, "test/helpers/forge_peer.py")];
const PASS = "freshness 新鲜 staple 91c2";
const WRONG = "freshness 新鲜 staple 91c3";
const withPass = { MCCHAT_PASSPHRASE: PASS };

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`freshness and alarms of an encrypted room on four lab hosts${suffix}`, () => {
    const lab = sharedLab(4);
    const base = label === "source" ? 26_700 : 26_740;
    const room = (group: string, port: number) => [
      "-y",
      "-g",
      group,
      "-p",
      String(port),
      "--json",
      "--stats",
    ];
    const capture = (h: Host, port: number) =>
      legacyReceiver(h, GROUP, port, ["--count", "0", "--timeout", "60"]);
    const fromH = (cap: Proc, host: Host) =>
      cap.json<Datagram>().filter((d) => fromHost(host).test(d.from));
    const sendHex = (h: Host, port: number, hexes: string[]) =>
      h.exec([...LEGACY, "send", GROUP, String(port), ...hexes.flatMap((x) => ["--hex", x])]);

    when(
      "(1) a capture replayed to a later joiner shows nothing and is counted; a member starting right after it is shown within 1 s",
      async () => {
        const [h0, h1, h2, h3] = await lab();
        const port = base;
        const cap = await capture(h3, port + 1);
        const secret = "wire the money to mallory";
        // The boss speaks alone; an outsider on h3 captures every datagram; the boss leaves.
        const boss = h0.spawn([...mcchat, ...room(GROUP, port), "-n", "boss"], {
          env: withPass,
          stdin: "pipe",
        });
        boss.write(`${secret}\n`);
        boss.end();
        expect(await boss.waitForExit(10_000)).toBe(0);
        await waitFor(() => fromH(cap, h0).length >= 3, 5000, "the capture holds the boss's run", [
          cap,
        ]);
        const captured = fromH(cap, h0).map((d) => d.hex);

        // Later, a member joins (after the capture); then the outsider replays it all.
        const lis = h1.spawn([...mcchat, ...room(GROUP, port), "--listen", "-n", "late"], {
          env: withPass,
        });
        await waitFor(() => fromH(cap, h1).length > 0, 10_000, "the late joiner is on the wire", [
          lis,
        ]);
        await sendHex(h3, port + 1, captured);
        await waitFor(
          () => fromH(cap, h3).length >= captured.length,
          5000,
          "the capture holds the replay",
          [lis, cap],
        );

        // A real member starts right after the replay and speaks at once.
        const live = h2.spawn([...mcchat, ...room(GROUP, port), "-n", "live"], {
          env: withPass,
          stdin: "pipe",
        });
        live.write("live and well\n");
        let onWire: number | undefined;
        let shown: number | undefined;
        await waitFor(
          () => {
            const now = performance.now();
            if (onWire === undefined && fromH(cap, h2).length > 0) onWire = now;
            if (shown === undefined && messages(lis).some((m) => m.text === "live and well")) {
              shown = now;
            }
            return onWire !== undefined && shown !== undefined;
          },
          10_000,
          "the live member's line at the late joiner",
          [lis, live, cap],
        );
        const delay = (shown as number) - (onWire as number);
        live.end();
        expect(await live.waitForExit(10_000)).toBe(0);
        await lis.stop(3000);

        expect(messages(lis).map((m) => m.text)).toEqual(["live and well"]);
        expect(events(lis).filter((e) => e.nick === "boss")).toEqual([]);
        expect(lis.stdout.includes(secret)).toBe(false);
        expect(delay).toBeLessThan(1000);
        const stats = sealedStatsOf(lis);
        expect(stats.replayed).toBeGreaterThanOrEqual(captured.length);
        expect(saidOnStderr(lis)).toEqual([]);
        console.log(
          `freshness (${label}): replayed ${captured.length} captured datagrams, the late joiner refused ${stats.replayed}; the live member shown ${Math.round(delay)} ms after its first datagram`,
        );
      },
      40_000,
    );

    when(
      "(2) three doctor-like plaintext probes raise no alarm; a mistyped passphrase is told to its owner within 1 s, first",
      async () => {
        const [h0, h1, h2, h3] = await lab();
        const port = base + 2;
        const dir = mkdtempSync(join(tmpdir(), "mcchat-fresh-"));
        try {
          const wrongFile = join(dir, "wrong");
          writeFileSync(wrongFile, `${WRONG}\n`);
          chmodSync(wrongFile, 0o600);
          const cap = await capture(h3, port + 1);
          const lis = h1.spawn([...mcchat, ...room(GROUP, port), "--listen", "-n", "lis"], {
            env: withPass,
          });
          const snd = h0.spawn([...mcchat, ...room(GROUP, port), "-n", "snd"], {
            env: withPass,
            stdin: "pipe",
          });
          const all = [lis, snd, cap];
          await waitForJoins(
            [
              [lis, ["snd"]],
              [snd, ["lis"]],
            ],
            10_000,
            "the members see each other",
            all,
          );
          // Three runs of 0.3's `mcchat doctor`: each a plaintext REPORT probe to P+1.
          for (let i = 0; i < 3; i++) {
            const id = randomInstanceId();
            const probe = encode({
              type: "report",
              id,
              seq: 0xffffffff,
              entries: [{ target: id, next: 0 }],
            });
            await sendHex(h3, port + 1, [Buffer.from(probe).toString("hex")]);
            await sendHex(h3, port, [Buffer.from("mcchat doctor").toString("hex")]);
          }
          await waitFor(() => fromH(cap, h3).length >= 3, 5000, "the probes are on the wire", all);
          snd.write("after the probes\n");
          await waitEvent(lis, (e) => e.type === "message" && e.text === "after the probes", "lis");
          // (0.3 said "3 datagrams could not be decrypted — wrong passphrase …" by now.)
          expect(saidOnStderr(lis)).toEqual([]);
          expect(saidOnStderr(snd)).toEqual([]);

          // A member with a mistyped passphrase joins.
          const wrg = h2.spawn(
            [
              ...mcchat,
              ...room(GROUP, port),
              "--listen",
              "-n",
              "typo",
              "--passphrase-file",
              wrongFile,
            ],
            { env: { MCCHAT_PASSPHRASE: undefined } },
          );
          all.push(wrg);
          let onWire: number | undefined;
          let ownerTold: number | undefined;
          let membersTold: number | undefined;
          const ownerRe = /nothing in this room opens with your passphrase/;
          const otherRe =
            /someone here uses another passphrase: sealed datagrams from 198\.18\.0\.3:/;
          await waitFor(
            () => {
              const now = performance.now();
              if (onWire === undefined && fromH(cap, h2).length > 0) onWire = now;
              if (ownerTold === undefined && wrg.lines("stderr").some((l) => ownerRe.test(l))) {
                ownerTold = now;
              }
              if (membersTold === undefined && lis.lines("stderr").some((l) => otherRe.test(l))) {
                membersTold = now;
              }
              return onWire !== undefined && ownerTold !== undefined && membersTold !== undefined;
            },
            10_000,
            "the owner of the typo and the members are told",
            all,
          );
          snd.write("marker\n");
          await waitEvent(lis, (e) => e.type === "message" && e.text === "marker", "lis");
          snd.end();
          expect(await snd.waitForExit(10_000)).toBe(0);
          await Promise.all([lis, wrg].map((p) => p.stop(3000)));

          const ownerDelay = (ownerTold as number) - (onWire as number);
          expect(ownerDelay).toBeLessThan(1000);
          expect(ownerTold as number).toBeLessThanOrEqual(membersTold as number);
          // Nothing about the probes; one line each about the typo.
          expect(saidOnStderr(lis)).toEqual([expect.stringMatching(otherRe)]);
          expect(saidOnStderr(snd)).toEqual([expect.stringMatching(otherRe)]);
          expect(saidOnStderr(wrg)).toEqual([expect.stringMatching(ownerRe)]);
          expect(messages(wrg)).toEqual([]);
          expect(sealedStatsOf(lis).plaintextDropped).toBeGreaterThanOrEqual(6);
          console.log(
            `alarms (${label}): the typo's owner told ${Math.round(ownerDelay)} ms after its first datagram, the members ${Math.round((membersTold as number) - (onWire as number))} ms`,
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      40_000,
    );

    for (const family of ["IPv4", "IPv6"] as const) {
      when(
        `(3) datagrams forged with a member's own address and port over ${family} print nothing; it keeps delivering`,
        async () => {
          const [h0, h1, h2] = await lab();
          const v6 = family === "IPv6";
          const group = v6 ? GROUP6 : GROUP;
          const port = base + (v6 ? 6 : 4);
          if (!v6) {
            // A default Linux drops IPv4 datagrams whose source is one of its own addresses
            // (accept_local=0); let them through so the program itself is tested.
            await h1.exec([
              "sysctl",
              "-qw",
              "net.ipv4.conf.all.accept_local=1",
              "net.ipv4.conf.eth0.accept_local=1",
            ]);
            await h1.exec([
              "sysctl",
              "-qw",
              "net.ipv4.conf.all.rp_filter=0",
              "net.ipv4.conf.eth0.rp_filter=0",
            ]);
          }
          const lis = h1.spawn([...mcchat, ...room(group, port), "--listen", "-n", "lis"], {
            env: withPass,
          });
          const snd = h0.spawn([...mcchat, ...room(group, port), "-n", "snd"], {
            env: withPass,
            stdin: "pipe",
          });
          const all = [lis, snd];
          await waitForJoins(
            [
              [lis, ["snd"]],
              [snd, ["lis"]],
            ],
            15_000,
            "the members see each other",
            all,
          );
          const lisFrom = events(snd).find((e) => e.type === "join" && e.nick === "lis")
            ?.from as string;
          expect(lisFrom).toContain(v6 ? h1.address6 : h1.address);
          snd.write("before\n");
          await waitEvent(lis, (e) => e.type === "message" && e.text === "before", "lis: before");
          const forged = [
            "ff4d0141",
            "ff4d0140",
            "ff4d01",
            `ff4d0140${"00".repeat(80)}`,
            `ff4d0141${"00".repeat(80)}`,
            `ff4d0240${"00".repeat(80)}`,
          ];
          const sent = await h2.exec([
            ...FORGE,
            "send",
            group,
            String(port + 1),
            "--from",
            lisFrom,
            "--dev",
            "eth0",
            ...forged.flatMap((x) => ["--hex", x]),
          ]);
          expect(sent.stdout.trim()).toBe(`sent ${forged.length}`);
          snd.write("after the forgery\n");
          await waitEvent(
            lis,
            (e) => e.type === "message" && e.text === "after the forgery",
            "lis: after",
          );
          snd.end();
          expect(await snd.waitForExit(10_000)).toBe(0);
          expect(lis.exited).toBe(false);
          await lis.stop(3000);
          expect(messages(lis).map((m) => m.text)).toEqual(["before", "after the forgery"]);
          expect(saidOnStderr(lis)).toEqual([]);
          // The forged datagrams did reach the program: counted.
          const stats = sealedStatsOf(lis);
          expect(stats.undecryptable).toBeGreaterThanOrEqual(forged.length);
          expect(joinedId(lis, "snd")).toBeDefined();
        },
        40_000,
      );
    }
  });
});
