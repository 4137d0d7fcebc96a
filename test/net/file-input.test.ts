/**
 * Flow control when the input is a FILE (`mcchat -y < lines.txt`), not a pipe: input that is
 * always ready never makes the sender wait on I/O, and mcchat 0.1's structure would then never
 * read its own socket during the blast — no reports, no NACKs, no pacing (seen: 100,000 lines,
 * 0 reports heard, and its receive buffer full of its own looped-back datagrams). Here a
 * listener is frozen (SIGSTOP) for 2 s mid-stream: with the sender paced by its reports it
 * still gets every line, in order, exactly once.
 *
 * Runs in the runner's loopback namespace (localHost), so it needs no root.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageTexts, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  implementations,
  localHost,
  type Proc,
  retryUntil,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const LINES = 60_000;
const FREEZE_AT = 10_000;
const FREEZE_MS = 2000;

/** The numbered lines of the sender's input file. */
const line = (i: number) => `file line ${String(i).padStart(6, "0")} ${"y".repeat(80)}`;

/** "reports sent S / heard H, window waits W" of a --stats line. */
function reportStats(p: Proc): { heard: number; waits: number } {
  const m = /reports sent \d+ \/ heard (\d+)(?: \/ left to others \d+)?, window waits (\d+)/.exec(
    p.stderr,
  );
  if (!m) throw new Error(`no report counters in --stats\n${p.describe()}`);
  return { heard: Number(m[1]), waits: Number(m[2]) };
}

for (const [i, impl] of implementations().entries()) {
  describe.skipIf(!impl.available)(`mcchat from ${impl.label}`, () => {
    test(`${LINES.toLocaleString("en")} lines from a file, a listener frozen for 2 s: all arrive, in order, once`, async () => {
      const host = localHost();
      const port = String(26_400 + 10 * i);
      const room = ["-y", "-p", port];
      const dir = mkdtempSync(join(tmpdir(), "mcchat-file-input-"));
      try {
        const file = join(dir, "lines.txt");
        writeFileSync(file, `${Array.from({ length: LINES }, (_, k) => line(k)).join("\n")}\n`);
        const rx = host.spawn([
          ...impl.argv,
          ...room,
          "--listen",
          "--json",
          "--count",
          String(LINES + 1),
          "--timeout",
          "90",
        ]);
        // Readiness: the listener has joined once it shows a probe message.
        await retryUntil(
          async () => {
            const probe = host.spawn([...impl.argv, ...room, "-n", "probe"], {
              stdin: "probe\n",
            });
            expect(await probe.waitForExit(10_000)).toBe(0);
          },
          () => messageTexts(rx).includes("probe"),
          { attempts: 10, intervalMs: 500, what: "the listener hearing a probe" },
        );

        const tx = host.spawn([
          "sh",
          "-c",
          'f="$1"; shift; exec "$@" < "$f"',
          "sh",
          file,
          ...impl.argv,
          ...room,
          "-n",
          "tx",
          "--stats",
        ]);
        await waitFor(
          () => messageTexts(rx).length > FREEZE_AT,
          30_000,
          `the listener printing ${FREEZE_AT} lines`,
          [rx, tx],
        );
        process.kill(rx.pid, "SIGSTOP");
        const frozenAt = performance.now();
        try {
          await Bun.sleep(FREEZE_MS); // the scenario: a listener frozen for 2 s
        } finally {
          process.kill(rx.pid, "SIGCONT");
        }
        expect(await rx.waitForExit(60_000)).toBe(0);
        expect(await tx.waitForExit(30_000)).toBe(0);
        const got = messageTexts(rx).filter((t) => t !== "probe");
        const expected = Array.from({ length: LINES }, (_, k) => line(k));
        expect(got.length).toBe(LINES);
        expect(got).toEqual(expected);
        const { heard, waits } = reportStats(tx);
        console.log(
          `${impl.label}: ${LINES} lines from a file, listener frozen ${FREEZE_MS} ms at ${FREEZE_AT}: ` +
            `all delivered; sender heard ${heard} reports, waited for the window ${waits} times; ` +
            `listener done ${((performance.now() - frozenAt) / 1000).toFixed(1)} s after the freeze`,
        );
        expect(heard).toBeGreaterThan(0);
        expect(waits).toBeGreaterThan(0); // the frozen listener held the sender back
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
