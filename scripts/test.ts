/**
 * `npm test`: build the binary, run the non-network tests, the big-room simulations (test/sim),
 * then run test/net inside a private network namespace, and end with one line
 * `N passed, N failed, N skipped`.
 *
 *   bun scripts/test.ts                      everything
 *   bun scripts/test.ts test/net/legacy      only test files whose path contains a filter
 *   bun scripts/test.ts -t 'gbk' --bail      options go to every `bun test` run
 *
 * Network isolation (test/net only):
 *   root:     unshare --net --mount --pid --fork --kill-child --mount-proc, lo up with
 *             224.0.0.0/4 routed to it, and a private tmpfs on /run/netns so the lab's
 *             `ip netns` hosts exist only inside; when the run ends (even killed), the
 *             kernel removes every process and namespace it made.
 *   non-root: the same with --map-root-user; multi-host tests skip (they need real root).
 * MCCHAT_TEST_NETNS=1 tells test/helpers/netns.ts#assertPrivateNetns that it is inside.
 * If the namespace cannot be made, the network run counts as failed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { isRelease, RELEASE_0_2, RELEASE_0_3, type Release } from "../test/helpers/old-mcchat.ts";
import { isRealRoot } from "../test/helpers/process.ts";
import { inPrivateNetns } from "./private-netns.ts";

const ROOT = resolve(import.meta.dir, "..");
process.chdir(ROOT);
const BUN = process.execPath;
/**
 * Bound for one `bun test` run (seconds): a hung run is killed and counts as failed. Each is
 * several times what the run takes on a 2-core machine (unit 80-100 s, sim 430-620 s,
 * network 680-700 s), so a slow machine is not mistaken for a hung run;
 * MCCHAT_TEST_RUN_TIMEOUT sets one bound for all.
 */
const RUN_TIMEOUT_S: Record<string, number> = { unit: 900, sim: 3600, network: 2700 };
const runTimeoutS = (name: string): number =>
  Number(process.env.MCCHAT_TEST_RUN_TIMEOUT ?? RUN_TIMEOUT_S[name] ?? 900);

interface Result {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  note?: string;
}
const results: Result[] = [];
/** Why tests were skipped: the `[skipped: …]` reason in their titles, with how many. */
const skipReasons = new Map<string, number>();
/** Failed tests, each with the first error line bun printed before it, for the summary. */
const failures: { run: string; test: string; why: string }[] = [];

const say = (line: string) => console.log(line);

// ---- arguments: filters (substring of a test file's path) and bun test options ----
const VALUE_OPTIONS = new Set([
  "-t",
  "--test-name-pattern",
  "--timeout",
  "--rerun-each",
  "--seed",
  "--preload",
  "--reporter",
  "--reporter-outfile",
  "--coverage-reporter",
  "--coverage-dir",
  "--max-concurrency",
]);
const filters: string[] = [];
const options: string[] = [];
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith("-")) {
      options.push(a);
      if (VALUE_OPTIONS.has(a) && i + 1 < argv.length) options.push(argv[++i] as string);
    } else {
      filters.push(relative(ROOT, resolve(a)) || a);
    }
  }
}

// ---- test files ----
const TEST_FILE = /(\.test|_test|\.spec|_spec)\.(ts|tsx|js|jsx|mjs|cjs)$/;
const allFiles = [...new Bun.Glob("test/**/*").scanSync({ cwd: ROOT, onlyFiles: true })]
  .map((f) => f.split("\\").join("/"))
  .filter(
    (f) => TEST_FILE.test(f) && !/\/(helpers|fixtures)\//.test(f) && !f.includes("node_modules/"),
  )
  .sort();
const selected = filters.length
  ? allFiles.filter((f) => filters.some((x) => f.includes(x)))
  : allFiles;
const netFiles = selected.filter((f) => f.startsWith("test/net/"));
/** Simulations of big rooms (minutes of CPU): their own run, so the unit run stays quick. */
const simFiles = selected.filter((f) => f.startsWith("test/sim/"));
const unitFiles = selected.filter((f) => !f.startsWith("test/net/") && !f.startsWith("test/sim/"));

if (selected.length === 0) {
  say(filters.length ? `no test file matches ${filters.join(", ")}` : "no test files under test/");
  say("0 passed, 1 failed, 0 skipped");
  process.exit(1);
}

// ---- helpers ----
function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

function lastCount(text: string, word: string): number | undefined {
  const all = [...text.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\s*$`, "gm"))];
  const last = all.at(-1);
  return last ? Number(last[1]) : undefined;
}

/** Run `bun test` (possibly wrapped), stream its output, and read its summary. */
async function bunTest(name: string, argv: string[], env: Record<string, string | undefined>) {
  say(`\n== ${name}: ${argv.slice(argv.indexOf("test") + 1).join(" ")}`);
  const started = performance.now();
  const child = Bun.spawn({
    cmd: argv,
    cwd: ROOT,
    env,
    stdin: "ignore",
    stdout: "inherit",
    stderr: "pipe",
  });
  let timedOut = false;
  const timeoutS = runTimeoutS(name);
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutS * 1000);
  let err = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    process.stderr.write(chunk);
    err += decoder.decode(chunk, { stream: true });
  }
  const code = await child.exited;
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;

  const text = stripAnsi(err);
  // bun lists skipped tests as it runs them and again at the end: count each test once.
  const skippedTests = new Set<string>();
  for (const m of text.matchAll(/^\(skip\) (.*\[skipped: ([^\]]+)\].*)$/gm)) {
    if (skippedTests.has(m[1] as string)) continue;
    skippedTests.add(m[1] as string);
    const why = m[2] as string;
    skipReasons.set(why, (skipReasons.get(why) ?? 0) + 1);
  }
  // bun prints a failed test's error above its `(fail)` line, and lists failures again at
  // the end: keep each once, with the first `error:` line of the block above it.
  let block: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\(fail\) (.*?)(?: \[[\d.]+m?s\])?$/.exec(line);
    if (!m) {
      if (/^\((pass|skip|todo)\) /.test(line)) block = [];
      else block.push(line);
      continue;
    }
    const test = m[1] as string;
    if (!failures.some((f) => f.run === name && f.test === test)) {
      const at = block.findIndex((l) => /^(error|Error)\b/.test(l.trim()));
      const why = at < 0 ? [] : block.slice(at, at + 6).filter((l) => l.trim() !== "");
      failures.push({
        run: name,
        test,
        why: why.map((l) => l.trim().slice(0, 200)).join("\n    "),
      });
    }
    block = [];
  }
  const passed = lastCount(text, "pass");
  const failed = lastCount(text, "fail");
  const skipped = (lastCount(text, "skip") ?? 0) + (lastCount(text, "todo") ?? 0);
  const r: Result = { name, passed: passed ?? 0, failed: failed ?? 0, skipped, seconds };
  if (timedOut) {
    r.failed += 1;
    r.note = `killed after ${timeoutS} s`;
  } else if (passed === undefined && failed === undefined) {
    r.failed += 1;
    r.note = `no test summary (exit ${code}): the run crashed or could not start`;
  } else if (r.passed + r.failed + r.skipped === 0) {
    r.failed += 1;
    r.note = "reported no tests";
  } else if (code !== 0 && r.failed === 0) {
    r.failed += 1;
    r.note = `exit ${code} without a failed test (unhandled error?)`;
  }
  results.push(r);
}

const baseEnv: Record<string, string | undefined> = {
  ...process.env,
  MCCHAT_TEST_NETNS: undefined,
};
if (process.stderr.isTTY && !process.env.NO_COLOR) baseEnv.FORCE_COLOR = "1";

// ---- 1. build ----
/** `bun scripts/build.ts …args`, streamed, as the result `name` (a build has no test counts). */
async function build(name: string, args: string[]) {
  say(`== build: bun scripts/build.ts${args.map((a) => ` ${a}`).join("")}`);
  const started = performance.now();
  const code = await Bun.spawn({
    cmd: [BUN, "scripts/build.ts", ...args],
    cwd: ROOT,
    env: baseEnv,
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
  }).exited;
  const seconds = (performance.now() - started) / 1000;
  results.push({
    name,
    passed: 0,
    failed: code === 0 ? 0 : 1,
    skipped: 0,
    seconds,
    note: code === 0 ? "ok" : `exit ${code}`,
  });
}

if (existsSync("scripts/build.ts")) {
  await build("build", []);
} else {
  say("== build: no scripts/build.ts yet; tests of dist/mcchat will skip");
}
// test/net/arm64.test.ts runs the linux-arm64 binary under qemu: build it here, where the
// target's runtime can still be fetched (the network tests run without a network).
if (
  selected.some((f) => f.endsWith("/arm64.test.ts")) &&
  Bun.which("qemu-aarch64") &&
  !existsSync("dist/release/mcchat-linux-arm64")
) {
  await build("build arm64", [
    "--target",
    "bun-linux-arm64",
    "--outfile",
    "dist/test/mcchat-linux-arm64",
  ]);
}
// test/net/mixed-room.test.ts puts mcchat 0.2.0 in a room with this build: build it from
// the release's commit (its own tree and build script, our node_modules). A clone without
// that commit (shallow) or a failed build is not a failure: those tests skip, saying why.
/** Test files that run mcchat 0.2.0 beside this build. */
const NEEDS_OLD = [
  "/mixed-room.test.ts",
  "/streams.test.ts",
  "/sealed-legacy.test.ts",
  "/big-mixed-room.test.ts",
];
if (selected.some((f) => NEEDS_OLD.some((n) => f.endsWith(n))) && !isRelease(RELEASE_0_2)) {
  const why = await buildOldMcchat(RELEASE_0_2);
  if (why) baseEnv[RELEASE_0_2.skipEnv] = why;
}
/** Test files that run mcchat 0.3.0 beside this build (a mixed encrypted room, a big mixed room). */
const NEEDS_03 = ["/sealed-legacy.test.ts", "/big-mixed-room.test.ts"];
if (selected.some((f) => NEEDS_03.some((n) => f.endsWith(n))) && !isRelease(RELEASE_0_3)) {
  const why = await buildOldMcchat(RELEASE_0_3);
  if (why) baseEnv[RELEASE_0_3.skipEnv] = why;
}

/** Builds release `r` from its commit; returns why not, or undefined when it did. */
async function buildOldMcchat(r: Release): Promise<string | undefined> {
  const { commit: OLD_COMMIT, version: OLD_VERSION, rel: OLD_BINARY_REL } = r;
  say(`== build: mcchat ${OLD_VERSION} from commit ${OLD_COMMIT} into ${OLD_BINARY_REL}`);
  const started = performance.now();
  const done = (why?: string) => {
    if (why) say(`(${why}: the tests that need it skip)`);
    const seconds = (performance.now() - started) / 1000;
    results.push({
      name: `build ${OLD_VERSION}`,
      passed: 0,
      failed: 0,
      skipped: 0,
      seconds,
      note: why ?? "ok",
    });
    return why;
  };
  const quiet = { cwd: ROOT, stdout: "pipe", stderr: "pipe" } as const;
  if (Bun.spawnSync(["git", "cat-file", "-e", `${OLD_COMMIT}^{commit}`], quiet).exitCode !== 0) {
    return done(`commit ${OLD_COMMIT} (mcchat ${OLD_VERSION}) is not in this clone (shallow?)`);
  }
  const tree = mkdtempSync(join(tmpdir(), `mcchat-${OLD_VERSION}-src-`));
  try {
    const archive = Bun.spawn(["git", "archive", OLD_COMMIT], { ...quiet, stdout: "pipe" });
    const tar = Bun.spawn(["tar", "-x", "-C", tree], { ...quiet, stdin: archive.stdout });
    const [a, t] = [await archive.exited, await tar.exited];
    if (a !== 0 || t !== 0) {
      const err = `${await new Response(archive.stderr).text()}${await new Response(tar.stderr).text()}`;
      return done(`git archive ${OLD_COMMIT} | tar -x failed (${a}/${t}): ${err.trim()}`);
    }
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
    const deps = (dir: string) =>
      JSON.stringify(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies);
    if (deps(tree) !== deps(ROOT)) {
      say(`(package.json dependencies differ from ${OLD_COMMIT}'s: building with ours)`);
    }
    const code = await Bun.spawn({
      cmd: [BUN, "scripts/build.ts", "--outfile", join(ROOT, OLD_BINARY_REL)],
      cwd: tree,
      env: baseEnv,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
    }).exited;
    if (code !== 0)
      return done(`building mcchat ${OLD_VERSION} from ${OLD_COMMIT} failed (exit ${code})`);
    if (!isRelease(r))
      return done(`${OLD_BINARY_REL} was built but does not say mcchat ${OLD_VERSION}`);
    return done();
  } catch (e) {
    return done(
      `building mcchat ${OLD_VERSION} from ${OLD_COMMIT} failed: ${(e as Error).message}`,
    );
  } finally {
    rmSync(join(tree, "node_modules"), { force: true }); // the link, never what it points to
    rmSync(tree, { recursive: true, force: true });
  }
}

// ---- 2. non-network tests ----
if (unitFiles.length) {
  await bunTest("unit", [BUN, "test", ...unitFiles.map((f) => `./${f}`), ...options], baseEnv);
} else if (!filters.length) {
  say("\n== unit: no test files outside test/net and test/sim");
}

// ---- 3. simulations: rooms of up to 1,000 real Sessions on a virtual clock ----
if (simFiles.length) {
  await bunTest("sim", [BUN, "test", ...simFiles.map((f) => `./${f}`), ...options], baseEnv);
}

// ---- 4. network tests, in a private network namespace ----
if (netFiles.length) {
  const root = isRealRoot();
  if (!root) say("\n(not root: multi-host network tests will skip)");
  await bunTest(
    "network",
    inPrivateNetns([BUN, "test", ...netFiles.map((f) => `./${f}`), ...options], { root }),
    { ...baseEnv, MCCHAT_TEST_NETNS: "1" },
  );
}

// ---- summary ----
const sum = (k: "passed" | "failed" | "skipped") => results.reduce((n, r) => n + r[k], 0);
say("\n== summary");
for (const r of results) {
  const counts = r.name.startsWith("build")
    ? ""
    : `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`;
  const note = r.note ? `${counts ? "; " : ""}${r.note}` : "";
  say(`${r.name.padEnd(8)} ${counts}${note} (${r.seconds.toFixed(1)} s)`);
}
for (const [why, n] of skipReasons) say(`skipped ${n}: ${why}`);
for (const f of failures) say(`failed (${f.run}): ${f.test}${f.why ? `\n    ${f.why}` : ""}`);
say(`${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped`);
process.exit(sum("failed") > 0 ? 1 : 0);
