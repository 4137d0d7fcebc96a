/**
 * Issue 7, "Joins that do not depend on clocks" — acceptance between lab hosts, with one
 * side's wall clock 5 minutes off (libfaketime, LD_PRELOAD + FAKETIME, as `faketime -f`
 * does; set directly so the test's pid is mcchat's own and stop() reaches it):
 *
 *   h0  sender "tx": stdin piped, --json (to see the listeners join)
 *   h1  "early": --listen --json, present before tx's first message
 *   h2  "late":  --listen --json, started after tx sent E1..E5, tx still running
 *
 * tx sends E1..E5; once `early` has them, `late` starts and joins (it and tx have seen each
 * other); tx sends L1..L5. Then:
 *   - `late` shows L1..L5 as live messages and none of E1..E5 as live (they may come as
 *     history, flagged `"history": true`; delivery is in order, so a replay of E* would have
 *     been printed before L1),
 *   - `early` shows E1..E5, L1..L5.
 * Cases: the sender's clock +5 min / −5 min; the receivers' clocks +5 min / −5 min.
 * The skew is checked to be in effect: the same executable with the same environment on the
 * same host reads a wall clock 5 minutes off the test's (`bun -e`, BUN_BE_BUN=1 for the binary).
 *
 * mcchat 0.1 decides "did this sender start before I joined?" by comparing the sender's
 * wall-clock `started` with its own: a sender 5 min ahead (or a receiver 5 min behind)
 * looks like it started after the late joiner, which then NACKs and shows E1..E5 as new.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { events, messages, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const LIBFAKETIME = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/faketime/libfaketime.so.1",
  "/usr/local/lib/faketime/libfaketime.so.1",
].find((p) => existsSync(p));

/** Environment that shifts a process's clocks by `offset` (libfaketime syntax, e.g. "+5m"). */
const skewed = (offset: string): Record<string, string> => ({
  LD_PRELOAD: LIBFAKETIME as string,
  FAKETIME: offset,
  FAKETIME_DONT_FAKE_MONOTONIC: "0",
});

const SKEW_MS = 5 * 60_000;
const early = ["E1", "E2", "E3", "E4", "E5"].map((s) => `before-join ${s}`);
const late = ["L1", "L2", "L3", "L4", "L5"].map((s) => `after-join ${s}`);

const live = (p: Proc) => messages(p).filter((e) => !e.history);
const liveTexts = (p: Proc) => live(p).map((e) => e.text ?? "");

/**
 * How far (ms) the wall clock of `impl`'s executable, run on `host` with `env`, is from the
 * test's: the source runs `bun -e`, the compiled binary the same with BUN_BE_BUN=1.
 */
async function clockOffset(
  host: Host,
  impl: { label: string; argv: string[] },
  env: Record<string, string>,
): Promise<number> {
  const code = "console.log(Date.now())";
  const argv = [impl.argv[0] as string, "-e", code];
  const before = Date.now();
  const r = await host.exec(argv, {
    env: { ...env, ...(impl.label === "source" ? {} : { BUN_BE_BUN: "1" }) },
    timeoutMs: 10_000,
  });
  const after = Date.now();
  const t = Number(r.stdout.trim());
  if (!Number.isFinite(t)) throw new Error(`clock probe printed ${JSON.stringify(r.stdout)}`);
  return t - (before + after) / 2;
}

describeLab("joins do not depend on clocks (libfaketime ±5 min)", () => {
  const hosts = sharedLab(3);

  const cases: { who: "sender" | "receivers"; offset: "+5m" | "-5m"; sign: 1 | -1 }[] = [
    { who: "sender", offset: "+5m", sign: 1 },
    { who: "sender", offset: "-5m", sign: -1 },
    { who: "receivers", offset: "+5m", sign: 1 },
    { who: "receivers", offset: "-5m", sign: -1 },
  ];

  for (const [n, impl] of implementations().entries()) {
    for (const [k, c] of cases.entries()) {
      test.skipIf(!impl.available || !LIBFAKETIME)(
        `${impl.label}: ${c.who === "sender" ? "sender's" : "receivers'"} clock ${c.offset}: a late joiner shows only what was sent after it joined; an early member gets everything`,
        async () => {
          const [h0, h1, h2] = await hosts();
          const port = String(26_200 + 10 * n + 2 * k);
          const room = ["-y", "-p", port];
          const txEnv = c.who === "sender" ? skewed(c.offset) : {};
          const rxEnv = c.who === "receivers" ? skewed(c.offset) : {};
          const listen = ["--listen", "--json", "--timeout", "60"];

          const first = h1.spawn([...impl.argv, ...room, "-n", "early", ...listen], {
            env: rxEnv,
          });
          const tx = h0.spawn([...impl.argv, ...room, "-n", "tx", "--json"], {
            stdin: "pipe",
            env: txEnv,
          });
          const seen = (p: Proc, nick: string) =>
            events(p).some((e) => e.type === "join" && e.nick === nick);
          await waitForJoins([[first, ["tx"]]], 15_000, "early sees tx join", [first, tx]);
          await waitFor(() => seen(tx, "early"), 15_000, "tx sees early join", [first, tx]);

          for (const line of early) tx.write(`${line}\n`);
          await waitFor(
            () => liveTexts(first).length >= early.length,
            15_000,
            "early member gets E1..E5",
            [first, tx],
          );

          const second = h2.spawn([...impl.argv, ...room, "-n", "late", ...listen], {
            env: rxEnv,
          });
          await waitForJoins([[second, ["tx", "early"]]], 15_000, "late sees tx and early", [
            second,
            tx,
          ]);
          await waitFor(() => seen(tx, "late"), 15_000, "tx sees late join", [second, tx]);

          for (const line of late) tx.write(`${line}\n`);
          await waitFor(
            () => liveTexts(second).includes(late.at(-1) as string),
            15_000,
            "late member gets L5",
            [second, tx],
          );
          await waitFor(
            () => liveTexts(first).includes(late.at(-1) as string),
            15_000,
            "early member gets L5",
            [first, tx],
          );
          tx.end();
          const code = await tx.waitForExit(20_000);
          await Promise.all([first.stop(), second.stop()]);

          // The skew was real: the same executable, with the same environment on the same host,
          // reads a wall clock 5 minutes off the test's.
          const skewSeen = await clockOffset(c.who === "sender" ? h0 : h1, impl, {
            ...(c.who === "sender" ? txEnv : rxEnv),
          });
          const secondLive = liveTexts(second);
          const replayed = secondLive.filter((t) => early.includes(t));
          console.log(
            `[clock] ${impl.label} ${c.who} ${c.offset}: late shows live ${JSON.stringify(secondLive)}, history ${messages(second).filter((e) => e.history).length}; early shows ${liveTexts(first).length} live; skew seen ${(skewSeen / 1000).toFixed(1)} s`,
          );
          expect(Math.abs(skewSeen - c.sign * SKEW_MS)).toBeLessThan(60_000);
          expect({ replayed, late: secondLive }).toEqual({ replayed: [], late });
          expect(liveTexts(first)).toEqual([...early, ...late]);
          expect(code).toBe(0);
        },
        90_000,
      );
    }
  }
});
