/**
 * mcchat 0.2.0, the released version (commit f62c515), as a member of a room with the
 * current build (test/net/mixed-room.test.ts): the wire must stay compatible with it.
 *
 * scripts/test.ts builds it into dist/test/mcchat-0.2.0 from that commit's tree
 * (`git archive f62c515 | tar -x`, the project's node_modules linked in, that tree's own
 * `bun scripts/build.ts --outfile …`) when a selected test needs it. When it cannot (a
 * shallow clone without the commit, a failed build) it says why in MCCHAT_TEST_OLD_SKIP and
 * the tests skip with that reason.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Proc } from "./process.ts";
import { ROOT } from "./process.ts";

/** The commit of the 0.2.0 release, its version, and where the runner builds it. */
export const OLD_COMMIT = "f62c515";
export const OLD_VERSION = "0.2.0";
export const OLD_BINARY_REL = `dist/test/mcchat-${OLD_VERSION}`;
export const OLD_BINARY = join(ROOT, OLD_BINARY_REL);
/** Set by scripts/test.ts when it could not build the old binary: the skip reason. */
export const OLD_SKIP_ENV = "MCCHAT_TEST_OLD_SKIP";

/** `<file> --version`'s first line, or undefined if it is missing or does not run. */
export function versionLine(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = Bun.spawnSync([file, "--version"], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 10_000,
    });
    if (r.exitCode !== 0) return undefined;
    return r.stdout.toString().split("\n")[0];
  } catch {
    return undefined;
  }
}

/** Whether `file` exists and says `mcchat 0.2.0` for --version. */
export function isOldMcchat(file = OLD_BINARY): boolean {
  return versionLine(file) === `mcchat ${OLD_VERSION}`;
}

/**
 * A released mcchat that scripts/test.ts builds from its commit for the tests that need it
 * (0.2.0 above; 0.3.0 for the mixed encrypted room of test/net/sealed-legacy.test.ts).
 */
export interface Release {
  commit: string;
  version: string;
  /** Where the runner builds it, relative to the repository. */
  rel: string;
  /** Set by scripts/test.ts when it could not build it: the skip reason. */
  skipEnv: string;
}

export const RELEASE_0_2: Release = {
  commit: OLD_COMMIT,
  version: OLD_VERSION,
  rel: OLD_BINARY_REL,
  skipEnv: OLD_SKIP_ENV,
};
/** mcchat 0.3.0 (wire 1.1, sealed rooms without FRESH, PROTOCOL.md §10.7). */
export const RELEASE_0_3: Release = {
  commit: "844c2b5",
  version: "0.3.0",
  rel: "dist/test/mcchat-0.3.0",
  skipEnv: "MCCHAT_TEST_03_SKIP",
};

/** Whether `r` is built and says `mcchat <version>` for --version. */
export function isRelease(r: Release): boolean {
  return versionLine(join(ROOT, r.rel)) === `mcchat ${r.version}`;
}

/** The binary of release `r` to run (argv prefix), or why it is not available. */
export function release(r: Release): { argv: string[]; available: boolean; skipReason?: string } {
  const file = join(ROOT, r.rel);
  const line = versionLine(file);
  if (line === `mcchat ${r.version}`) return { argv: [file], available: true };
  const told = process.env[r.skipEnv]?.replace(/\s+/g, " ").replaceAll("]", ")").trim();
  const skipReason = told
    ? told
    : line === undefined
      ? `${r.rel} not built (bun scripts/test.ts builds it from commit ${r.commit})`
      : `${r.rel} says "${line}", not mcchat ${r.version}`;
  return { argv: [file], available: false, skipReason };
}

let cached: { argv: string[]; available: boolean; skipReason?: string } | undefined;

/**
 * The 0.2.0 binary to run (argv prefix), or why it is not available: skipped tests put the
 * reason in their title as `[skipped: <reason>]`.
 */
export function oldMcchat(): { argv: string[]; available: boolean; skipReason?: string } {
  if (cached) return cached;
  const argv = [OLD_BINARY];
  const line = versionLine(OLD_BINARY);
  if (line === `mcchat ${OLD_VERSION}`) {
    cached = { argv, available: true };
  } else {
    // One line without "]": the reason goes into a test title as `[skipped: <reason>]`.
    const told = process.env[OLD_SKIP_ENV]?.replace(/\s+/g, " ").replaceAll("]", ")").trim();
    const skipReason = told
      ? told
      : line === undefined
        ? `${OLD_BINARY_REL} not built (bun scripts/test.ts builds it from commit ${OLD_COMMIT})`
        : `${OLD_BINARY_REL} says "${line}", not mcchat ${OLD_VERSION}`;
    cached = { argv, available: false, skipReason };
  }
  return cached;
}

/** The counters of 0.2.0's `--stats` line (its format is frozen with the release). */
export interface OldStats {
  sent: number;
  received: number;
  repaired: number;
  repairsSent: number;
  nacksSent: number;
  duplicates: number;
  lost: number;
  malformed: number;
}

/** 0.2.0's `--stats` line (src/join.ts formatStats at f62c515). */
export const OLD_STATS_RE =
  /^mcchat: stats: sent (\d+), received (\d+), repaired (\d+) \(repairs sent (\d+)\), NACKs sent (\d+) \/ heard \d+ \/ suppressed \d+, duplicates dropped (\d+), lost (\d+), malformed (\d+),/;

/** The --stats line of an exited 0.2.0 process, or undefined if it printed none. */
export function oldStatsOf(p: Proc): OldStats | undefined {
  for (const line of p.lines("stderr")) {
    const m = OLD_STATS_RE.exec(line);
    if (!m) continue;
    const [sent, received, repaired, repairsSent, nacksSent, duplicates, lost, malformed] = m
      .slice(1)
      .map(Number) as number[];
    return {
      sent,
      received,
      repaired,
      repairsSent,
      nacksSent,
      duplicates,
      lost,
      malformed,
    } as OldStats;
  }
  return undefined;
}

/** 0.2.0's warning, once per sender address:port, about frames it cannot decode. */
export const OLD_NEWER_RE =
  /^mcchat: warning: ignoring frames from (\S+) \((.*); a newer mcchat\?\)$/;
