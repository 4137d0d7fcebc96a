/**
 * Issue 7's flood scenario, N times, between lab hosts in a private network namespace:
 * one host pipes L numbered ~100-byte lines at full speed into `mcchat -y`, R other hosts run
 * `mcchat --listen --json --count L`; every receiver must print all L lines, in order,
 * exactly once. Prints one line per run and receiver, and a summary; exit 1 if any run failed.
 *
 *   bun scripts/lab-flood.ts                         10 runs of dist/mcchat, 100,000 lines, 3 receivers
 *   bun scripts/lab-flood.ts --source                from source (bun src/main.ts of this checkout)
 *   bun scripts/lab-flood.ts --bin /tmp/base/dist/mcchat   any binary
 *   bun scripts/lab-flood.ts --source /tmp/base      any checkout, from source
 *   options: --runs N (10) --lines L (100000) --receivers R (3) --port P (25900)
 *            --freeze MS (SIGSTOP receiver 1 for MS ms once it printed 20% of the lines)
 *            --loss PCT (random loss on receiver 1's host) --timeout S (receivers' --timeout, 120)
 *
 * Needs root (it builds `ip netns` hosts). Outside the private namespace it re-executes
 * itself in the private namespace of scripts/private-netns.ts (as scripts/test.ts does), so
 * no multicast ever leaves on a real interface; inside, assertPrivateNetns() checks it.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type FloodResult, formatFlood, runFlood } from "../test/helpers/flood.ts";
import {
  assertPrivateNetns,
  canCreateLab,
  createLab,
  isRealRoot,
  LAB_SKIP_REASON,
} from "../test/helpers/netns.ts";
import { rerunInPrivateNetns } from "./private-netns.ts";

const ROOT = resolve(import.meta.dir, "..");

if (process.env.MCCHAT_TEST_NETNS !== "1") {
  if (!isRealRoot()) {
    console.error(`lab-flood: ${LAB_SKIP_REASON}`);
    process.exit(2);
  }
  // The inner run stops after its current run on the first signal, at once on the second.
  process.exit(await rerunInPrivateNetns(import.meta.path, process.argv.slice(2)));
}

assertPrivateNetns();
if (!canCreateLab()) {
  console.error(`lab-flood: ${LAB_SKIP_REASON}`);
  process.exit(2);
}

// ---- options ----
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  return v !== undefined && !v.startsWith("--") ? v : "";
};
const num = (name: string, dflt: number): number => {
  const v = opt(name);
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${v}`);
  return n;
};
if (args.includes("-h") || args.includes("--help")) {
  const text = await Bun.file(import.meta.path).text();
  console.log(/\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, "") ?? "");
  process.exit(0);
}

let mcchat: string[];
let label: string;
const bin = opt("--bin");
const source = opt("--source");
if (bin) {
  mcchat = [resolve(bin)];
  label = resolve(bin);
} else if (source !== undefined) {
  const dir = source === "" ? ROOT : resolve(source);
  mcchat = [process.execPath, resolve(dir, "src/main.ts")];
  label = `${dir} (source)`;
} else {
  mcchat = [resolve(ROOT, "dist/mcchat")];
  label = mcchat[0] as string;
}
if (!existsSync(mcchat.at(-1) as string)) {
  console.error(`lab-flood: ${mcchat.at(-1)} does not exist (npm run build?)`);
  process.exit(2);
}
const runs = num("--runs", 10);
const lines = num("--lines", 100_000);
const nrx = num("--receivers", 3);
const port = num("--port", 25_900);
const timeoutS = num("--timeout", 120);
const freezeMs = num("--freeze", 0);
const loss = num("--loss", 0);

// ---- runs ----
const lab = await createLab(1 + nrx);
const [tx, ...rx] = lab.hosts;
if (!tx) throw new Error("no hosts");
console.log(
  `lab-flood: ${label}: ${runs} runs, ${lines} lines, ${nrx} receivers${freezeMs ? `, rx1 frozen ${freezeMs} ms` : ""}${loss ? `, ${loss}% loss at rx1` : ""}`,
);
const results: FloodResult[] = [];
let interrupted = false;
const onSignal = () => {
  if (interrupted) process.exit(130); // second signal: at once (the namespace dies with us)
  interrupted = true;
  console.log("lab-flood: stopping after this run (signal again to stop now)");
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
try {
  for (let run = 1; run <= runs && !interrupted; run++) {
    const r = await runFlood({
      mcchat,
      tx,
      rx,
      lines,
      port: port + 2 * (run % 20),
      tag: `r${run}`,
      timeoutS,
      freeze: freezeMs
        ? { receiver: 0, afterLines: Math.floor(lines / 5), ms: freezeMs }
        : undefined,
      loss: loss ? { receiver: 0, percent: loss } : undefined,
    });
    results.push(r);
    console.log(`run ${run}: ${r.ok ? "OK" : "FAIL"}`);
    for (const l of formatFlood(r)) console.log(`  ${l}`);
  }
} finally {
  await lab.destroy();
}

// ---- summary ----
const ok = results.filter((r) => r.ok).length;
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : 0;
};
const rate = (s: number) => (s > 0 ? Math.round(lines / s) : 0);
const rxs = results.flatMap((r) => r.receivers);
const good = results.filter((r) => r.ok);
console.log(
  [
    `summary: ${ok}/${results.length} runs complete (every receiver all ${lines}, in order, once; sender exit 0)`,
    `  receivers short: ${rxs.filter((x) => x.missing > 0).length}/${rxs.length}; worst got ${Math.min(...rxs.map((x) => x.distinct))}; duplicates ${rxs.reduce((a, x) => a + x.duplicates, 0)}; out of order ${rxs.reduce((a, x) => a + x.outOfOrder, 0)}; lost events ${rxs.reduce((a, x) => a + x.lostEvents, 0)}`,
    `  median msg/s over all runs: input consumed ${rate(med(results.map((r) => r.inputSeconds)))}, sender exit ${rate(med(results.map((r) => r.senderSeconds)))}`,
    `  median msg/s over complete runs: input consumed ${rate(med(good.map((r) => r.inputSeconds)))}, sender exit ${rate(med(good.map((r) => r.senderSeconds)))}, all receivers done ${rate(med(good.map((r) => r.allSeconds)))}`,
  ].join("\n"),
);
process.exit(ok === results.length && results.length > 0 ? 0 : 1);
