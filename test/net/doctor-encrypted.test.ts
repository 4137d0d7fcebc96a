/**
 * Issue 15: `mcchat doctor` near an encrypted room sends nothing plaintext into it, between lab
 * hosts, from source and as the compiled binary. 0.3 sent one plaintext REPORT per run to P+1,
 * and after three runs every member printed "3 datagrams could not be decrypted — wrong
 * passphrase…".
 *
 *   h0 198.18.0.1  mcchat doctor, run three times with its default listening time (3 s)
 *   h1 198.18.0.2  "alice", an encrypted member (--listen, MCCHAT_PASSPHRASE, default 2 s heartbeat)
 *   h2 198.18.0.3  captures: legacy_peer.py recv on P and on P+1 (hex of every datagram)
 *
 * Readiness: the captures print READY before alice starts; doctor runs once the capture holds
 * a sealed datagram from alice. Completeness: alice is stopped (its --stats counts what it
 * could not open) only after the third doctor run ended, and the capture is stopped after it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { checksById, type JsonReport } from "../helpers/doctor.ts";
import {
  assertPrivateNetns,
  describeLab,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, legacyReceiver, waitWhileRunning } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.180.71";
const PASS = "doctor must not disturb this room 4c1e";
/** The sealed-frame prefix: magic FF 4D, version 1, a type 0x40-0x4F. */
const isSealedHex = (hex: string) => /^ff4d014[0-9a-f]/.test(hex);
const RUNS = 3;

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`doctor near an encrypted room${suffix}`, () => {
    const lab = sharedLab(3);
    const port = label === "source" ? 26_720 : 26_740;

    when(
      `${RUNS} doctor runs send no plaintext datagram into it; alice counts nothing undecryptable`,
      async () => {
        const [h0, h1, h2] = await lab();
        const capture = (p: number) =>
          legacyReceiver(h2, GROUP, p, ["--count", "0", "--timeout", "90"]);
        const [capRoom, capFrames] = await Promise.all([capture(port), capture(port + 1)]);
        const alice = h1.spawn(
          [...mcchat, "-y", "-g", GROUP, "-p", String(port), "--listen", "-n", "alice", "--stats"],
          { env: { MCCHAT_PASSPHRASE: PASS } },
        );
        const fromAlice = () => capFrames.json<Datagram>().filter((d) => fromHost(h1).test(d.from));
        await waitWhileRunning(
          [alice, capFrames],
          () => fromAlice().some((d) => isSealedHex(d.hex)),
          10_000,
          "a sealed datagram from alice in the capture",
        );

        const reports: JsonReport[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await h0.exec(
            [...mcchat, "doctor", "--json", "-g", GROUP, "-p", String(port)],
            { check: false, timeoutMs: 20_000 },
          );
          expect(r.stderr).toBe("");
          reports.push(JSON.parse(r.stdout) as JsonReport);
        }
        await alice.stop(3000);
        // alice's last datagram (its BYE) reached the capture after every doctor datagram.
        await capFrames.stop(500);
        await capRoom.stop(500);
        const fromDoctor = [...capFrames.json<Datagram>(), ...capRoom.json<Datagram>()].filter(
          (d) => fromHost(h0).test(d.from),
        );
        expect(fromDoctor.map((d) => d.hex.slice(0, 16))).toEqual([]);
        // alice itself: no datagram it could not open, no plaintext frame, no alarm.
        const stats = alice
          .lines("stderr")
          .find((l) => /encrypted room: undecryptable \d+/.test(l));
        expect(stats).toMatch(/undecryptable 0, replayed \d+, plaintext dropped 0$/);
        expect(alice.stderr).not.toContain("could not be decrypted");
        // Each run heard the room as encrypted and said why it sent nothing.
        for (const report of reports) {
          expect(report.encrypted?.some((e) => fromHost(h1).test(e.from))).toBe(true);
          expect(checksById(report).loopback).toMatchObject({
            status: "skip",
            summary: expect.stringContaining("the room is encrypted (sealed datagrams heard)"),
          });
        }
      },
      90_000,
    );
  });
});
