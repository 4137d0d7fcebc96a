/**
 * The guard of the helper scripts that send datagrams of their own (frame_sender.ts, hostile.ts,
 * crowd.ts, scripts/bench-udp.ts, scripts/bench-ping.ts):
 * they run only inside a lab host, i.e. the test runner's private namespace tree
 * (MCCHAT_TEST_NETNS=1) and a network namespace of its own (not that of PID 1, which is the
 * runner's loopback-only namespace, or the real one outside a run).
 */
import { readlinkSync } from "node:fs";

/** Prints `NAME: msg` on stderr and exits with `code`. */
export type Die = (msg: string, code?: number) => never;

/** Exits (2) unless this process runs inside a lab host; the script's `die`. */
export function labOnly(name: string): Die {
  const die: Die = (msg, code = 2) => {
    process.stderr.write(`${name}: ${msg}\n`);
    process.exit(code);
  };
  if (process.env.MCCHAT_TEST_NETNS !== "1") die("refusing to run outside the test runner");
  try {
    if (readlinkSync("/proc/self/ns/net") === readlinkSync("/proc/1/ns/net")) {
      die("refusing to run outside a lab host (same network namespace as PID 1)");
    }
  } catch (e) {
    die(`cannot check the network namespace: ${(e as Error).message}`);
  }
  return die;
}
