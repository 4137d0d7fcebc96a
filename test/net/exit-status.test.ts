/**
 * Exit status (issue 15, "[2 of 8] The holes 0.2 still has"): an exit never drops output it
 * has already received, and when output is lost (its reader is gone) the status says so.
 * dist/mcchat between two lab hosts:
 *
 *   h0 198.18.0.1  sender: N numbered lines on stdin (test/helpers/flood.ts), --json
 *   h1 198.18.0.2  listener: `--listen --json --count N > FIFO`; the reader is `cat FIFO` in
 *                  the runner, stopped (SIGSTOP) from before the first line
 *
 * - The reader stays frozen until the listener has every line (the sender exited 0: its drain
 *   saw them confirmed; the listener held its reports back while stdout took nothing, and the
 *   sender, past the stall rule, stopped waiting for it) and FREEZE_MS longer, so the listener reaches --count while its reader
 *   takes nothing. It must still be running then, and once the reader reads again it must
 *   write all N lines before it exits 0. (0.3.0 gave up on stdout after 5 s without progress:
 *   it exited 0, nothing on stderr, having written a few hundred lines.)
 * - The same, but the reader is killed instead of woken: the listener ends within a bound,
 *   non-zero, saying how many lines it could not write.
 *
 * - A signal still bounds the wait for a frozen reader: the listener ends within the exit
 *   guard's grace, status 1, saying how many lines were not written.
 *
 * N is MCCHAT_EXIT_LINES (default 100,000, the issue's number).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../helpers/events.ts";
import { floodShown } from "../helpers/flood.ts";
import { floodIntoFrozenReader } from "../helpers/frozen-reader.ts";
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

const HAVE_BIN = implementations().some((i) => i.label !== "source" && i.available);
const N = Number(process.env.MCCHAT_EXIT_LINES ?? 100_000);
/** How long the reader stays frozen after the listener has every line. */
const FREEZE_MS = 10_000;
/** How long the listener may take to exit once its reader is gone. */
const GONE_EXIT_MS = 3_000;
const GROUP = "239.1.73.15";
/** Lines for the signal case: far more than a pipe holds (~64 KiB, ~300 lines). */
const SIGNAL_LINES = 5_000;
/** How long a stopped listener may take (the exit guard's grace is 800 ms; room for a busy machine). */
const STOP_EXIT_MS = 3_000;
const LOST_LINE =
  /^mcchat: ([\d,]+) of ([\d,]+) output lines not written: stdout's reader went away$/;

/** The flood numbers the reader printed, in order (and lines that are not JSON). */
const shown = (reader: Proc) => floodShown(reader.stdout, "x");

describeLab(
  `exit status: output received is never dropped${HAVE_BIN ? "" : " [skipped: dist/mcchat not built]"}`,
  () => {
    const hosts = sharedLab(2);
    let port = 27_400;

    /**
     * A listener (--count N) writing into a FIFO whose reader is frozen, and a sender that
     * pipes N lines into the room and has exited 0 (so the listener has them all).
     */
    async function frozenAfterFlood(dir: string, n = N) {
      const [h0, h1] = (await hosts()) as [Host, Host];
      port += 2;
      const { reader, lis, tx, frozeAt } = await floodIntoFrozenReader(h0, h1, {
        dir,
        group: GROUP,
        port,
        n,
        tag: "x",
      });
      const txCode = await tx.waitForExit(240_000);
      const floodSeconds = (performance.now() - frozeAt) / 1000;
      // Exit 0: every member confirmed every line (the sender names one that did not, and
      // exits 1). It may have said it stopped waiting for the listener (the stall rule).
      expect(txCode).toBe(0);
      expect(tx.stderr).not.toContain("had not confirmed");
      return { reader, lis, floodSeconds };
    }

    (HAVE_BIN ? test : test.skip)(
      `--count ${N} into a reader frozen until ${FREEZE_MS / 1000} s after the listener has every line: it waits, then writes all ${N} and exits 0`,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "mcchat-exit-status-"));
        try {
          const { reader, lis, floodSeconds } = await frozenAfterFlood(dir);
          const heldAt = performance.now();
          // The listener has every line and its --count; the reader takes nothing. It must
          // wait for the reader, however long: it is still there when the freeze ends.
          await waitFor(
            () => lis.exited || performance.now() - heldAt >= FREEZE_MS,
            FREEZE_MS + 5_000,
            "the freeze to end",
          );
          const aliveWhileFrozen = !lis.exited;
          const linesWhileFrozen = reader.stdout.split("\n").length - 1;
          process.kill(reader.pid, "SIGCONT");
          const lisCode = await lis.waitForExit(120_000);
          const readerCode = await reader.waitForExit(30_000);
          const { numbers, broken } = shown(reader);
          const inOrder = numbers.every((n, k) => k === 0 || n === (numbers[k - 1] as number) + 1);
          console.log(
            `--count ${N}, frozen reader: flood ${floodSeconds.toFixed(1)} s; listener alive after the freeze: ${aliveWhileFrozen}; ${linesWhileFrozen} lines out while frozen; ${numbers.length} flood lines written; exit ${lisCode}; stderr ${JSON.stringify(lis.stderr)}`,
          );
          expect(aliveWhileFrozen).toBe(true);
          expect({ lisCode, readerCode, stderr: lis.stderr }).toEqual({
            lisCode: 0,
            readerCode: 0,
            stderr: "",
          });
          expect(broken).toBe(0);
          expect(numbers.length).toBe(N);
          expect(inOrder).toBe(true);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      400_000,
    );

    (HAVE_BIN ? test : test.skip)(
      `--count ${N} and the frozen reader is killed instead: a bounded exit, non-zero, saying how many lines were not written`,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "mcchat-exit-status-"));
        try {
          const { reader, lis } = await frozenAfterFlood(dir);
          const killedAt = performance.now();
          process.kill(reader.pid, "SIGKILL");
          const lisCode = await lis.waitForExit(GONE_EXIT_MS + 5_000);
          const took = performance.now() - killedAt;
          await reader.waitForExit(5_000);
          const got = shown(reader).numbers.length;
          const err = lis.lines("stderr").filter((l) => l !== "");
          console.log(
            `--count ${N}, reader killed: listener exit ${lisCode} after ${Math.round(took)} ms; the reader had ${got} flood lines; stderr ${JSON.stringify(err)}`,
          );
          expect(lisCode).not.toBe(0);
          expect(took).toBeLessThan(GONE_EXIT_MS);
          expect(err).toHaveLength(1);
          const m = LOST_LINE.exec(err[0] ?? "");
          expect(m).not.toBeNull();
          const lost = Number(m?.[1]?.replaceAll(",", ""));
          const total = Number(m?.[2]?.replaceAll(",", ""));
          // Every line the listener had counts: N flood lines and the join before them.
          expect(total).toBeGreaterThanOrEqual(N);
          // What the reader printed was written; what the listener says it lost was not.
          expect(lost).toBeGreaterThan(0);
          expect(got + lost).toBeLessThanOrEqual(total);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      400_000,
    );

    (HAVE_BIN ? test : test.skip)(
      "SIGTERM while the frozen reader holds it up: a bounded exit, status 1, saying how many lines were not written",
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "mcchat-exit-status-"));
        try {
          const { reader, lis } = await frozenAfterFlood(dir, SIGNAL_LINES);
          const t0 = performance.now();
          process.kill(lis.pid, "SIGTERM");
          const lisCode = await lis.waitForExit(STOP_EXIT_MS + 5_000);
          const took = performance.now() - t0;
          const err = lis.lines("stderr").filter((l) => l !== "");
          console.log(
            `SIGTERM, frozen reader: listener exit ${lisCode} after ${Math.round(took)} ms; stderr ${JSON.stringify(err)}`,
          );
          process.kill(reader.pid, "SIGCONT");
          expect(took).toBeLessThan(STOP_EXIT_MS);
          expect(lisCode).toBe(1);
          expect(err).toHaveLength(1);
          expect(err[0]).toMatch(
            /^mcchat: [\d,]+ of [\d,]+ output lines not written: stopped before stdout's reader took them$/,
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      120_000,
    );
  },
);
