/**
 * Output is part of flow control (issue [1 of 8]): `mcchat --listen --json` whose reader stops
 * reading for 10 s (a frozen `less`, a stopped script) while 100,000 lines are piped into a
 * sender. The listener holds its reports back, so the sender slows down; past the stall rule
 * the sender goes on, and the listener keeps what it receives in bounded memory (its RSS stays
 * under 128 MB); once the reader reads again it shows all 100,000, in order, once.
 *
 *   h0 198.18.0.1  sender: 100,000 numbered lines on stdin (test/helpers/flood.ts)
 *   h1 198.18.0.2  listener: `--listen --json --count 100000 > FIFO`; the reader is `cat FIFO`
 *                  in the runner, stopped (SIGSTOP) for 10 s from before the first line
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { floodShown } from "../helpers/flood.ts";
import { floodIntoFrozenReader } from "../helpers/frozen-reader.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const HAVE_BIN = implementations().some((i) => i.label !== "source" && i.available);
const N = 100_000;
const FREEZE_MS = 10_000;
const RSS_LIMIT = 128 * 1024 * 1024;
const GROUP = "239.1.73.1";

/** VmHWM and VmRSS of a process, in bytes (undefined once it is gone). */
function memory(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
  } catch {
    return undefined;
  }
}

describeLab(
  `a listener whose reader freezes for 10 s${HAVE_BIN ? "" : " [skipped: dist/mcchat not built]"}`,
  () => {
    const hosts = sharedLab(2);
    (HAVE_BIN ? test : test.skip)(
      "--listen --json into a reader frozen 10 s while 100,000 lines are piped in: RSS under 128 MB, then all 100,000 shown, in order, once",
      async () => {
        const [h0, h1] = (await hosts()) as [Host, Host];
        const dir = mkdtempSync(join(tmpdir(), "mcchat-frozen-"));
        try {
          const { reader, lis, tx, frozeAt } = await floodIntoFrozenReader(h0, h1, {
            dir,
            group: GROUP,
            port: 27301,
            n: N,
            tag: "z",
            senderArgs: ["--stats"],
          });

          let peak = 0;
          const sample = () => {
            const m = memory(lis.pid);
            if (m) peak = Math.max(peak, m.hwm, m.rss);
          };
          while (performance.now() - frozeAt < FREEZE_MS) {
            sample();
            await Bun.sleep(250);
          }
          sample();
          const frozenPeak = peak;
          const shownWhileFrozen = reader.stdout.split("\n").length;
          process.kill(reader.pid, "SIGCONT");
          const lisCode = await lis.waitForExit(120_000);
          const readerCode = await reader.waitForExit(30_000);
          const txCode = await tx.waitForExit(60_000);
          const seconds = (performance.now() - frozeAt) / 1000;

          const { numbers, broken } = floodShown(reader.stdout, "z");
          const inOrder = numbers.every((n, k) => k === 0 || n === (numbers[k - 1] as number) + 1);
          const lost = reader.stdout.split("\n").filter((l) => l.includes('"type":"lost"')).length;
          console.log(
            `frozen reader: listener peak RSS ${(frozenPeak / 2 ** 20).toFixed(1)} MB while frozen (${(peak / 2 ** 20).toFixed(1)} MB overall); ${shownWhileFrozen} lines out while frozen; ${numbers.length} shown (${broken} broken lines) ${seconds.toFixed(1)} s after the freeze; sender exit ${txCode}, ${tx.stderr.trim().replaceAll("\n", " | ")}`,
          );
          expect({ lisCode, readerCode, txCode }).toEqual({ lisCode: 0, readerCode: 0, txCode: 0 });
          expect(broken).toBe(0);
          expect(numbers.length).toBe(N);
          expect(new Set(numbers).size).toBe(N);
          expect(inOrder).toBe(true);
          expect(lost).toBe(0);
          expect(peak).toBeLessThan(RSS_LIMIT);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      180_000,
    );
  },
);
