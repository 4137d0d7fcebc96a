/**
 * `npm run bench`: the benchmark suite of issue 9, all in one run, side by side with the raw
 * socket limit measured on the same lab hosts in the same run. Several runs per figure, medians
 * reported. Prints a table (figure | value | ratio | target | met?) and writes
 * bench/results.json (kept out of git: bench/ is in .gitignore — results belong to a machine
 * and a moment, not to the source).
 *
 *   npm run bench                       full run (about 3 minutes on a 2-core machine)
 *   npm run bench -- --quick            smoke run: 1 run per figure, 10,000 lines
 *   options: --runs N (5; the lossy flood and the latency take at most 3)  --lines L (100,000)
 *            --bin PATH (default dist/mcchat, built if missing)  --build (rebuild dist/mcchat
 *            first)  --out FILE (bench/results.json)
 *
 * Figures (the issue's numbering):
 *  1. baseline: scripts/bench-udp.ts, plain node:dgram in Bun, host 1 sends L 100-byte datagrams
 *     as fast as it can to the group; hosts 2 and 3 count them (8 MiB receive buffer asked, like
 *     mcchat). Rate = datagrams received by the slower receiver / (its last arrival − the
 *     sender's first send); loss is reported, never hidden.
 *  2. pipe: test/helpers/flood.ts — L numbered ~100-byte lines piped into `mcchat -y` on host 1,
 *     `--listen --json --count L` on hosts 2 and 3, every line checked (all, in order, once).
 *     Rate = L / (first byte written → last receiver exited at --count). Baseline run i runs
 *     just before pipe run i, so both see the same machine load.
 *  3. the same in a passphrase room (MCCHAT_PASSPHRASE): 2 receivers; then 3 receivers with
 *     nftables dropping 20 % of UDP input at the third (NACKs from its --stats).
 *  4. latency: scripts/bench-ping.ts — a responder (mcchat --json, its wrapper answering
 *     "ping N" with "pong N" through mcchat's stdin) and a pinger writing "ping N" at 1,000/s;
 *     round trip = line written to the pinger's mcchat → "pong N" event read from it. The same
 *     exchange over plain sockets (bench-udp.ts ping/echo) is its baseline.
 *  5. start-up: `mcchat --version` against a hello-world compiled in this run with the flags of
 *     scripts/build.ts (interleaved runs, medians); start → first datagram: spawn
 *     `mcchat -y --listen` on host 1 until bench-udp.ts on host 2, listening on the companion
 *     port (room port + 1), receives its first datagram (includes `ip netns exec`, shown too).
 *  6. peak RSS (VmHWM): of the receivers during 2 (sampled from /proc every 250 ms), and of an
 *     idle `--listen` member 3 s after test/helpers/hostile.ts announced 1,000 made-up members.
 *
 * Needs root (`ip netns` hosts); not root: says why, exit 2. Outside the private namespace it
 * re-executes itself in the one of scripts/private-netns.ts (as scripts/lab-flood.ts does), so
 * no multicast ever leaves on a real interface. Exit 0 when every figure was measured (whether
 * or not targets are met: the table says), 1 when a measurement failed.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type FloodResult, runFlood } from "../test/helpers/flood.ts";
import {
  assertPrivateNetns,
  canCreateLab,
  createLab,
  type Host,
  isRealRoot,
  LAB_SKIP_REASON,
  type Proc,
} from "../test/helpers/netns.ts";
import { rerunInPrivateNetns } from "./private-netns.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;
const GROUP = "239.1.100.1";

// ---- options (parsed before the re-exec, so bad ones fail fast) ----
const args = process.argv.slice(2);
if (args.includes("-h") || args.includes("--help")) {
  const text = await Bun.file(import.meta.path).text();
  console.log(/\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, "") ?? "");
  process.exit(0);
}
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : (args[i + 1] ?? "");
};
const num = (name: string, dflt: number): number => {
  const v = opt(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: ${name} needs a positive integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const known = new Set(["--quick", "--build", "--runs", "--lines", "--bin", "--out"]);
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (!known.has(a)) {
    console.error(`bench: unknown option ${a} (--help)`);
    process.exit(2);
  }
  if (a === "--runs" || a === "--lines" || a === "--bin" || a === "--out") i++;
}
const quick = args.includes("--quick");
const RUNS = num("--runs", quick ? 1 : 5);
const LINES = num("--lines", quick ? 10_000 : 100_000);
const BIN = resolve(opt("--bin") ?? join(ROOT, "dist/mcchat"));
const OUT = resolve(opt("--out") ?? join(ROOT, "bench/results.json"));

// ---- outside: checks, build, then the same command inside a private namespace ----
if (process.env.MCCHAT_TEST_NETNS !== "1") {
  if (!isRealRoot()) {
    console.error(
      `bench: needs root: ${LAB_SKIP_REASON}; every figure is taken between lab hosts (network namespaces), which only root can make. Run it as root (sudo npm run bench).`,
    );
    process.exit(2);
  }
  if (opt("--bin") === undefined && (args.includes("--build") || !existsSync(BIN))) {
    console.log(`bench: building ${BIN} (bun scripts/build.ts)`);
    const b = Bun.spawnSync([BUN, join(ROOT, "scripts/build.ts")], {
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    });
    if (b.exitCode !== 0) process.exit(1);
  }
  if (!existsSync(BIN)) {
    console.error(`bench: ${BIN} does not exist`);
    process.exit(2);
  }
  process.exit(await rerunInPrivateNetns(import.meta.path, args));
}

// ---- inside the private namespace ----
assertPrivateNetns();
if (!canCreateLab()) {
  console.error(`bench: ${LAB_SKIP_REASON}`);
  process.exit(2);
}
const began = performance.now();
// Last resort: whatever happens, this run ends (the namespace and its processes die with it).
setTimeout(() => {
  console.error("bench: still running after 9 minutes; giving up");
  process.exit(1);
}, 9 * 60_000).unref();
let interrupted = false;
const onSignal = () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error("bench: stopping after this measurement (signal again to stop now)");
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

// ---- small helpers ----
const now = () => performance.timeOrigin + performance.now();
const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const fmtMs = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 1)} ms` : "n/a");
const fmtMB = (bytes: number) =>
  Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : "n/a";
const fmtX = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "n/a");
const log = (line: string) => console.log(`  ${line}`);
let nextPort = 27_000;
/** A fresh room port per measurement (mcchat uses it and the companion port + 1). */
const port = () => {
  nextPort += 4;
  return nextPort;
};
const lastJson = <T>(text: string): T | undefined => {
  const line = text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .at(-1);
  if (!line) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
};
const errors: string[] = [];
async function measure<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (interrupted) return undefined;
  try {
    return await fn();
  } catch (e) {
    const msg = `${what}: ${(e as Error).message}`;
    errors.push(msg.length > 2000 ? `${msg.slice(0, 2000)}…` : msg);
    console.log(`  FAILED ${msg.split("\n")[0]}`);
    return undefined;
  }
}

/** VmHWM / VmRSS of a process (bytes), undefined once it is gone. */
function memory(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, "m").exec(s)?.[1]) * 1024;
    return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
  } catch {
    return undefined;
  }
}

/**
 * Peak RSS of every `mcchat` process running in the given lab hosts, sampled every 250 ms from
 * /proc (VmHWM only grows, so the last sample before a process exits holds its peak, unless that
 * peak came in its last 250 ms). Keyed by host name.
 */
function rssSampler(hosts: Host[]): { stop(): Map<string, number> } {
  const inode = new Map<string, string>();
  for (const h of hosts) inode.set(`net:[${statSync(`/run/netns/${h.name}`).ino}]`, h.name);
  const peak = new Map<string, number>();
  const sample = () => {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const host = inode.get(readlinkSync(`/proc/${pid}/ns/net`));
        if (!host || readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "mcchat") continue;
        const m = memory(Number(pid));
        if (m && m.hwm > (peak.get(host) ?? 0)) peak.set(host, m.hwm);
      } catch {}
    }
  };
  const timer = setInterval(sample, 250);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * The flags scripts/build.ts gives `bun build` (the string literals starting with "--" in its
 * `args` array, but --outfile), so the hello-world is built exactly like dist/mcchat even when
 * build.ts changes.
 */
function buildFlags(): string[] {
  const text = readFileSync(join(ROOT, "scripts/build.ts"), "utf8");
  const block = /const args = \[([\s\S]*?)\];/.exec(text)?.[1] ?? "";
  const flags = [...block.matchAll(/"(--[a-z][a-z0-9-]*(?:=[^"]*)?)"/g)]
    .map((m) => m[1] as string)
    .filter((f) => f !== "--outfile");
  if (!flags.includes("--compile")) {
    throw new Error("cannot read the bun build flags from scripts/build.ts");
  }
  return flags;
}

const statNum = (stats: string | undefined, re: RegExp) =>
  Number(re.exec(stats ?? "")?.[1] ?? Number.NaN);

// ---- the lab ----
const mcchatVersion = Bun.spawnSync([BIN, "--version"]).stdout.toString().trim();
const commit = Bun.spawnSync(["git", "-C", ROOT, "describe", "--always", "--dirty"])
  .stdout.toString()
  .trim();
const srcNewer = (() => {
  const binTime = statSync(BIN).mtimeMs;
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
    );
  return walk(join(ROOT, "src")).filter((f) => statSync(f).mtimeMs > binTime);
})();
console.log(
  `bench: ${BIN} (${mcchatVersion}, tree ${commit}), ${RUNS} run(s) per figure, ${LINES.toLocaleString("en-US")} lines, ${cpus().length} CPUs, Bun ${Bun.version}`,
);
if (srcNewer.length > 0) {
  console.log(
    `bench: note: ${srcNewer.length} file(s) in src/ are newer than the binary (e.g. ${srcNewer[0]?.slice(ROOT.length + 1)}): run with --build to measure the current source`,
  );
}
const lab = await createLab(4);
const [h0, h1, h2, h3] = lab.hosts as [Host, Host, Host, Host];

interface Row {
  figure: string;
  value: string;
  ratio: string;
  target: string;
  met: boolean | undefined;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {};

try {
  // ---- 1. baseline (each run just before the pipe run of 2 with the same number) ----
  const baseRuns: { rate: number; loss: number; perReceiver: unknown[]; sender: unknown }[] = [];
  const baseByRun = new Map<number, number>();
  const baselineRun = async (run: number) => {
    const r = await measure(`baseline run ${run}`, async () => {
      const p = port() + 1;
      const rx = [h1, h2].map((h) =>
        h.spawn([
          BUN,
          join(ROOT, "scripts/bench-udp.ts"),
          "recv",
          GROUP,
          String(p),
          "--count",
          String(LINES),
          "--idle",
          "1000",
          "--timeout",
          "60",
        ]),
      );
      await Promise.all(rx.map((x) => x.waitForLine(/^READY$/, 10_000, "stderr")));
      const tx = await h0.exec(
        [BUN, join(ROOT, "scripts/bench-udp.ts"), "send", GROUP, String(p), String(LINES)],
        { timeoutMs: 60_000 },
      );
      const sent = lastJson<{ sent: number; errors: number; start: number; end: number }>(
        tx.stdout,
      );
      await Promise.all(rx.map((x) => x.waitForExit(65_000)));
      const got = rx.map((x) =>
        lastJson<{ received: number; first: number; last: number; rcvbuf: number }>(x.stdout),
      );
      if (!sent || got.some((g) => !g))
        throw new Error(`no result\n${rx.map((x) => x.describe()).join("\n")}`);
      const per = got.map(
        (g) => g as { received: number; first: number; last: number; rcvbuf: number },
      );
      const rates = per.map((g) => g.received / ((g.last - sent.start) / 1000));
      const loss = Math.max(...per.map((g) => LINES - g.received));
      const rate = Math.min(...rates);
      log(
        `run ${run} baseline: ${fmtInt(rate)} datagrams/s delivered (slower receiver), loss ${loss}; sender ${fmtInt(LINES / ((sent.end - sent.start) / 1000))}/s, receive buffer ${per[0]?.rcvbuf}`,
      );
      return { rate, loss, perReceiver: per, sender: sent };
    });
    if (r) {
      baseRuns.push(r);
      baseByRun.set(run, r.rate);
    }
  };

  // ---- 2. and 3.: floods ----
  const floods = async (
    key: string,
    title: string,
    rx: Host[],
    runs: number,
    extra: {
      env?: Record<string, string>;
      loss?: { receiver: number; percent: number };
      before?: (run: number) => Promise<void>;
    },
  ) => {
    if (title) console.log(title);
    const out: {
      rate: number;
      ok: boolean;
      rssPeak: number;
      nacks: number;
      repairsSent: number;
      result: FloodResult;
    }[] = [];
    for (let run = 1; run <= runs && !interrupted; run++) {
      await extra.before?.(run);
      const r = await measure(`${key} run ${run}`, async () => {
        const sampler = rssSampler(rx);
        let result: FloodResult;
        let peaks = new Map<string, number>();
        try {
          result = await runFlood({
            mcchat: [BIN],
            tx: h0,
            rx,
            lines: LINES,
            port: port(),
            tag: `${key}${run}`,
            timeoutS: 60,
            env: extra.env,
            loss: extra.loss,
          });
        } finally {
          peaks = sampler.stop();
        }
        const rate = LINES / result.allSeconds;
        const base = key === "pipe" ? baseByRun.get(run) : undefined;
        const rssPeak = Math.max(0, ...rx.map((h) => peaks.get(h.name) ?? 0));
        const nacks = result.receivers.reduce(
          (a, x) => a + statNum(x.stats, /NACKs sent (\d+)/),
          0,
        );
        const repairsSent = statNum(result.senderStderr, /repairs sent (\d+)/);
        const bad = result.receivers.filter(
          (x) => x.distinct !== LINES || x.outOfOrder || x.duplicates,
        );
        log(
          `run ${run} ${key}: ${fmtInt(rate)} msg/s to all ${rx.length} (input read at ${fmtInt(LINES / result.inputSeconds)}/s), ${result.ok ? "all delivered, in order, once" : `INCOMPLETE (${bad.map((x) => `${x.nick} ${x.distinct}/${LINES}, ${x.outOfOrder} out of order, ${x.duplicates} dup`).join("; ")}; sender exit ${result.senderExit})`}, NACKs ${nacks}, repairs sent ${repairsSent}, peak RSS rx ${fmtMB(rssPeak)}${base ? `; ${fmtX(rate / base)} this run's baseline` : ""}`,
        );
        return { rate, ok: result.ok, rssPeak, nacks, repairsSent, result };
      });
      if (r) out.push(r);
    }
    const summary = {
      expected: runs,
      medianRate: median(out.map((r) => r.rate)),
      complete: out.filter((r) => r.ok).length,
      runs: out.length,
      medianNacks: median(out.map((r) => r.nacks)),
      medianRepairsSent: median(out.map((r) => r.repairsSent)),
      medianRssPeak: median(out.map((r) => r.rssPeak)),
      maxRssPeak: Math.max(0, ...out.map((r) => r.rssPeak)),
    };
    results[key] = {
      ...summary,
      runs: out.map((r) => ({
        rate: r.rate,
        ok: r.ok,
        rssPeak: r.rssPeak,
        nacks: r.nacks,
        repairsSent: r.repairsSent,
        flood: r.result,
      })),
    };
    return summary;
  };
  const allRuns = (s: { complete: number; runs: number; expected: number }) =>
    s.runs === s.expected && s.complete === s.runs
      ? `all delivered in ${s.complete}/${s.expected} runs`
      : `COMPLETE ONLY ${s.complete}/${s.expected} runs`;
  const allOk = (s: { complete: number; runs: number; expected: number }) =>
    s.runs === s.expected && s.complete === s.runs;

  const SLOW_RUNS = Math.min(RUNS, 3);
  console.log(
    `1. baseline: node:dgram in Bun, ${LINES} × 100-byte datagrams, host 1 → hosts 2, 3; and\n2. pipe: ${LINES} lines into ${BIN.startsWith(ROOT) ? BIN.slice(ROOT.length + 1) : BIN} on host 1 → --listen --json on hosts 2, 3 (runs interleaved)`,
  );
  const pipe = await floods("pipe", "", [h1, h2], RUNS, { before: baselineRun });
  const baseline = median(baseRuns.map((r) => r.rate));
  const baseLoss = Math.max(0, ...baseRuns.map((r) => r.loss));
  results.baseline = { medianRate: baseline, maxLoss: baseLoss, runs: baseRuns };
  rows.push({
    figure: "1. baseline node:dgram → 2 rx (datagrams/s)",
    value: `${fmtInt(baseline)}/s, ${baseLoss ? `LOSS up to ${baseLoss}` : "no loss"} in ${baseRuns.length} runs`,
    ratio: "1.00×",
    target: "(the limit)",
    met: undefined,
  });
  rows.push({
    figure: "2. pipe → 2 rx (msg/s)",
    value: `${fmtInt(pipe.medianRate)}/s, ${allRuns(pipe)}`,
    ratio: fmtX(pipe.medianRate / baseline),
    target: "≥ 0.75× baseline, zero loss",
    met: pipe.medianRate / baseline >= 0.75 && allOk(pipe),
  });

  const PASS = { MCCHAT_PASSPHRASE: "bench correct horse battery staple" };
  const enc = await floods(
    "encrypted",
    "3a. passphrase room (MCCHAT_PASSPHRASE): the same, 2 receivers",
    [h1, h2],
    RUNS,
    { env: PASS },
  );
  rows.push({
    figure: "3a. encrypted pipe → 2 rx (msg/s)",
    value: `${fmtInt(enc.medianRate)}/s, ${allRuns(enc)}`,
    ratio: fmtX(enc.medianRate / baseline),
    target: "≥ 0.5× baseline, zero loss",
    met: enc.medianRate / baseline >= 0.5 && allOk(enc),
  });
  const lossy = await floods(
    "encryptedLoss",
    "3b. passphrase room, 3 receivers, nftables dropping 20% of UDP input at the third",
    [h1, h2, h3],
    SLOW_RUNS,
    { env: PASS, loss: { receiver: 2, percent: 20 } },
  );
  rows.push({
    figure: "3b. encrypted → 3 rx, 20% loss at 1 (msg/s)",
    value: `${fmtInt(lossy.medianRate)}/s, ${allRuns(lossy)}; NACKs ${fmtInt(lossy.medianNacks)}, repairs ${fmtInt(lossy.medianRepairsSent)}`,
    ratio: fmtX(lossy.medianRate / baseline),
    target: "all delivered",
    met: allOk(lossy),
  });

  // ---- 4. latency ----
  const PINGS = quick ? 1000 : 3000;
  const WARMUP = Math.floor(PINGS / 15);
  console.log(
    `4. latency: ${PINGS} pings at 1,000/s (first ${WARMUP} left out), host 1 → host 2 → host 1: raw sockets (bench-udp.ts ping/echo), then mcchat's pipe interface (bench-ping.ts)`,
  );
  type Ping = {
    p50: number;
    p90: number;
    p99: number;
    max: number;
    lost: number;
    rate: number;
    measured: number;
  };
  const describePing = (res: Ping) =>
    `p50 ${fmtMs(res.p50)}, p90 ${fmtMs(res.p90)}, p99 ${fmtMs(res.p99)}, max ${fmtMs(res.max)} over ${res.measured} pings (sent at ${res.rate}/s), ${res.lost} unanswered`;
  const rawPings: Ping[] = [];
  const pingRuns: Ping[] = [];
  for (let run = 1; run <= SLOW_RUNS; run++) {
    const raw = await measure(`raw latency run ${run}`, async () => {
      const p = String(port() + 1);
      const udp = join(ROOT, "scripts/bench-udp.ts");
      const echo = h1.spawn([BUN, udp, "echo", GROUP, p, "--timeout", "30"]);
      try {
        await echo.waitForLine(/^READY$/, 10_000, "stderr");
        const r = await h0.exec(
          [
            BUN,
            udp,
            "ping",
            GROUP,
            p,
            "--count",
            String(PINGS),
            "--warmup",
            String(WARMUP),
            "--timeout",
            "30",
          ],
          { timeoutMs: 35_000 },
        );
        const res = lastJson<Ping>(r.stdout);
        if (!res) throw new Error(`raw pinger printed no result\n${r.stdout}${r.stderr}`);
        log(`run ${run} raw:   ${describePing(res)}`);
        return res;
      } finally {
        await echo.stop(500);
      }
    });
    if (raw) rawPings.push(raw);
    const r = await measure(`latency run ${run}`, async () => {
      const p = String(port());
      const room = [BIN, "-y", "-p", p, "--json"];
      const pingTs = join(ROOT, "scripts/bench-ping.ts");
      const responder = h1.spawn([
        BUN,
        pingTs,
        "responder",
        "--max-seconds",
        "60",
        "--",
        ...room,
        "-n",
        "pong",
      ]);
      let pinger: Proc | undefined;
      try {
        pinger = h0.spawn([
          BUN,
          pingTs,
          "pinger",
          "--peer",
          "pong",
          "--rate",
          "1000",
          "--count",
          String(PINGS),
          "--warmup",
          String(WARMUP),
          "--max-seconds",
          "60",
          "--",
          ...room,
          "-n",
          "ping",
        ]);
        const code = await pinger.waitForExit(65_000);
        const res = lastJson<Ping>(pinger.stdout);
        if (code !== 0 || !res) {
          throw new Error(
            `pinger failed (exit ${code})\n${pinger.describe()}\n${responder.describe()}`,
          );
        }
        log(`run ${run} mcchat: ${describePing(res)}`);
        return res;
      } finally {
        await pinger?.stop(1000);
        await responder.stop(1000);
      }
    });
    if (r) pingRuns.push(r);
  }
  const rawP50 = median(rawPings.map((r) => r.p50));
  const rawP99 = median(rawPings.map((r) => r.p99));
  const p50 = median(pingRuns.map((r) => r.p50));
  const p99 = median(pingRuns.map((r) => r.p99));
  const pingLost = pingRuns.reduce((a, r) => a + r.lost, 0);
  results.latency = {
    medianP50: p50,
    medianP99: p99,
    unanswered: pingLost,
    runs: pingRuns,
    raw: { medianP50: rawP50, medianP99: rawP99, runs: rawPings },
  };
  rows.push({
    figure: "4. raw round trip at 1,000/s, p50 / p99",
    value: `${fmtMs(rawP50)} / ${fmtMs(rawP99)}`,
    ratio: "(the limit)",
    target: "",
    met: undefined,
  });
  rows.push({
    figure: "4. round trip at 1,000/s, p50",
    value: fmtMs(p50),
    ratio: `${fmtX(p50 / rawP50)} raw`,
    target: "",
    met: undefined,
  });
  rows.push({
    figure: "4. round trip at 1,000/s, p99",
    value: `${fmtMs(p99)}${pingLost ? `, ${pingLost} unanswered` : ""}`,
    ratio: `${fmtX(p99 / rawP99)} raw`,
    target: "< 1 ms",
    met: pingRuns.length === SLOW_RUNS && p99 < 1 && pingLost === 0,
  });

  // ---- 5. start-up ----
  const STARTS = quick ? 10 : 20;
  console.log(
    `5. start-up: --version vs a compiled hello-world (${STARTS} interleaved runs each), start → first datagram`,
  );
  await measure("--version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcchat-bench-"));
    try {
      writeFileSync(join(dir, "hello.ts"), 'console.log("hello");\n');
      const flags = buildFlags();
      const b = Bun.spawnSync(
        [BUN, "build", ...flags, join(dir, "hello.ts"), "--outfile", join(dir, "hello")],
        { cwd: dir, stdout: "pipe", stderr: "pipe" },
      );
      if (b.exitCode !== 0) throw new Error(`building hello-world failed: ${b.stderr.toString()}`);
      const time = (argv: string[]) => {
        const t = performance.now();
        const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
        if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
        return performance.now() - t;
      };
      const hello = [join(dir, "hello")];
      const version = [BIN, "--version"];
      // Warm the page cache.
      for (let i = 0; i < 3; i++) {
        time(hello);
        time(version);
      }
      const th: number[] = [];
      const tv: number[] = [];
      for (let i = 0; i < STARTS; i++) {
        th.push(time(hello));
        tv.push(time(version));
      }
      const mh = median(th);
      const mv = median(tv);
      log(
        `--version ${fmtMs(mv)} (min ${fmtMs(Math.min(...tv))}), hello-world ${fmtMs(mh)} (min ${fmtMs(Math.min(...th))}), both built with ${flags.join(" ")}`,
      );
      results.version = {
        medianMs: mv,
        helloMedianMs: mh,
        ratio: mv / mh,
        buildFlags: flags,
        runs: { version: tv, hello: th },
      };
      rows.push({
        figure: "5. mcchat --version (median)",
        value: `${fmtMs(mv)} (hello-world ${fmtMs(mh)})`,
        ratio: `${fmtX(mv / mh)} hello`,
        target: "≤ 1.5× hello-world",
        met: mv / mh <= 1.5,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const FIRSTS = quick ? 3 : 10;
  await measure("start → first datagram", async () => {
    const ipOverhead: number[] = [];
    const firsts: number[] = [];
    for (let i = 0; i < FIRSTS && !interrupted; i++) {
      const t = performance.now();
      await h0.exec(["true"]);
      ipOverhead.push(performance.now() - t);
      const p = port();
      const probe = h1.spawn([
        BUN,
        join(ROOT, "scripts/bench-udp.ts"),
        "recv",
        GROUP,
        String(p + 1),
        "--count",
        "1",
        "--timeout",
        "10",
      ]);
      let member: Proc | undefined;
      try {
        await probe.waitForLine(/^READY$/, 10_000, "stderr");
        const t0 = now();
        member = h0.spawn([BIN, "-y", "--listen", "-p", String(p), "-n", "starter"]);
        await probe.waitForExit(12_000);
        const got = lastJson<{ received: number; first: number }>(probe.stdout);
        if (!got?.received)
          throw new Error(`no datagram\n${probe.describe()}\n${member.describe()}`);
        firsts.push(got.first - t0);
      } finally {
        await member?.stop(1000);
        await probe.stop(500);
      }
    }
    const mf = median(firsts);
    const mo = median(ipOverhead);
    log(
      `start → first datagram: median ${fmtMs(mf)} (min ${fmtMs(Math.min(...firsts))}, max ${fmtMs(Math.max(...firsts))}); \`ip netns exec\` + spawn of \`true\` alone: ${fmtMs(mo)}`,
    );
    results.firstDatagram = { medianMs: mf, ipNetnsExecMedianMs: mo, runs: firsts };
    rows.push({
      figure: "5. start → first datagram (median)",
      value: `${fmtMs(mf)} (incl. ${fmtMs(mo)} ip netns exec)`,
      ratio: "",
      target: "< 60 ms",
      met: mf < 60,
    });
  });

  // ---- 6. RSS ----
  console.log("6. peak RSS (VmHWM)");
  rows.push({
    figure: "6. peak RSS of a receiver during 2",
    value: `${fmtMB(pipe.medianRssPeak)} (max ${fmtMB(pipe.maxRssPeak)})`,
    ratio: "",
    target: "< 128 MB",
    met: pipe.runs > 0 ? pipe.maxRssPeak > 0 && pipe.maxRssPeak < 128 * 1024 * 1024 : undefined,
  });
  rows.push({
    figure: "6. peak RSS of a receiver during 3a (encrypted)",
    value: `${fmtMB(enc.medianRssPeak)} (max ${fmtMB(enc.maxRssPeak)})`,
    ratio: "",
    target: "< 128 MB",
    met: enc.runs > 0 ? enc.maxRssPeak > 0 && enc.maxRssPeak < 128 * 1024 * 1024 : undefined,
  });
  await measure("idle RSS", async () => {
    const p = port();
    const member = h1.spawn([BIN, "-y", "--listen", "--json", "-p", String(p), "-n", "idle"]);
    try {
      await Bun.sleep(1000); // an idle member, alone
      const alone = memory(member.pid);
      const hostile = await h2.exec(
        [
          BUN,
          join(ROOT, "test/helpers/hostile.ts"),
          GROUP,
          String(p),
          "presence",
          "--count",
          "1000",
        ],
        { timeoutMs: 30_000 },
      );
      const joins = () => member.lines().filter((l) => l.includes('"type":"join"')).length;
      const deadline = performance.now() + 5000;
      while (joins() < 1000 && performance.now() < deadline) await Bun.sleep(50);
      await Bun.sleep(3000); // idle with 1,000 members known (they time out after 6 s)
      const m = memory(member.pid);
      const known = joins();
      const comm = readFileSync(`/proc/${member.pid}/comm`, "utf8").trim();
      if (!m || comm !== "mcchat")
        throw new Error(`cannot read the member's memory (${comm})\n${member.describe()}`);
      log(
        `idle member: alone ${fmtMB(alone?.hwm ?? Number.NaN)}; with ${known} members known: VmHWM ${fmtMB(m.hwm)}, VmRSS ${fmtMB(m.rss)} (${hostile.stdout.trim()})`,
      );
      results.idleRss = { members: known, hwm: m.hwm, rss: m.rss, aloneHwm: alone?.hwm };
      rows.push({
        figure: `6. peak RSS, idle member, ${known} members known`,
        value: `${fmtMB(m.hwm)} (alone ${fmtMB(alone?.hwm ?? Number.NaN)})`,
        ratio: "",
        target: "< 64 MB",
        met: known >= 1000 && m.hwm < 64 * 1024 * 1024,
      });
    } finally {
      await member.stop(1000);
    }
  });
} finally {
  await lab.destroy();
}

// ---- the table and results.json ----
const header: Row = {
  figure: "figure",
  value: "value",
  ratio: "× baseline",
  target: "target",
  met: undefined,
};
const cell = (r: Row, k: keyof Row) =>
  k === "met"
    ? r === header
      ? "met?"
      : r.met === undefined
        ? ""
        : r.met
          ? "yes"
          : "NO"
    : String(r[k]);
const keys: (keyof Row)[] = ["figure", "value", "ratio", "target", "met"];
const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => cell(r, k).length)));
const line = (r: Row) =>
  `| ${keys.map((k, i) => cell(r, k).padEnd(widths[i] as number)).join(" | ")} |`;
const seconds = (performance.now() - began) / 1000;
console.log("");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
console.log("");
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      binary: BIN,
      version: mcchatVersion,
      tree: commit,
      bun: Bun.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      options: { runs: RUNS, lines: LINES, quick },
      seconds,
      table: rows,
      results,
      errors,
    },
    null,
    2,
  )}\n`,
);
console.log(
  `bench: ${rows.filter((r) => r.met === true).length} of ${rows.filter((r) => r.met !== undefined).length} targets met; ${errors.length} measurement(s) failed; ${seconds.toFixed(0)} s. Results in ${OUT.startsWith(ROOT) ? OUT.slice(ROOT.length + 1) : OUT} (not in git: bench/ is ignored).`,
);
for (const e of errors) console.log(`bench: failed: ${e}`);
process.exit(errors.length > 0 || interrupted ? 1 : 0);
