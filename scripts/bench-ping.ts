/**
 * The latency figure of `npm run bench` (scripts/bench.ts): two room members talking through
 * mcchat's pipe interface only, each a small wrapper around `mcchat --json` (its stdin a pipe,
 * its stdout JSON events).
 *
 *   bun scripts/bench-ping.ts responder [--max-seconds S] -- MCCHAT_ARGV...
 *       answers every message "ping N" it sees on mcchat's stdout by writing "pong N" to
 *       mcchat's stdin.
 *   bun scripts/bench-ping.ts pinger --peer NICK [--rate 1000] [--count 3000] [--warmup 200]
 *       [--max-seconds S] -- MCCHAT_ARGV...
 *       waits until NICK joined (a JSON join event) and answers a probe ("ping 0", repeated
 *       every 200 ms until its pong comes back), then writes "ping 1" .. "ping COUNT" on a fixed
 *       schedule of --rate per second, each round trip measured from the moment its line was
 *       written to mcchat's stdin to the moment mcchat printed the "pong N" event. The first
 *       --warmup pings are left out of the figures. Prints one JSON line:
 *       {sent, answered, lost, warmup, p50, p90, p99, max, mean, rate} (ms; lost = no pong
 *       within 2 s after the last ping).
 *
 * Both stop their mcchat (stdin closed, then SIGTERM, then SIGKILL) on SIGTERM/SIGINT, and by
 * themselves after --max-seconds (default 60). Lab hosts only, like scripts/bench-udp.ts.
 */
import { type Die, labOnly } from "../test/helpers/lab-only.ts";
import { PingSeries } from "./ping-series.ts";

const die: Die = labOnly("bench-ping");

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
if (sep < 0 || sep === argv.length - 1) die("usage: bench-ping.ts MODE [options] -- MCCHAT_ARGV");
const [mode, ...opts] = argv.slice(0, sep);
const mcchatArgv = argv.slice(sep + 1);
const opt = (name: string): string | undefined => {
  const i = opts.indexOf(name);
  return i < 0 ? undefined : opts[i + 1];
};
const num = (name: string, dflt: number): number => {
  const v = opt(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) die(`${name}: not a number: ${v}`);
  return n;
};
if (mode !== "responder" && mode !== "pinger") die(`unknown mode ${mode}`);
const maxSeconds = num("--max-seconds", 60);

const child = Bun.spawn({
  cmd: mcchatArgv,
  stdin: "pipe",
  stdout: "pipe",
  stderr: "inherit",
});
const sink = child.stdin;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    try {
      sink.end();
    } catch {}
    const t = setTimeout(() => child.kill("SIGKILL"), 1500);
    child.kill("SIGTERM");
    await child.exited;
    clearTimeout(t);
  }
  process.exit(code);
}
process.on("SIGTERM", () => void stop(143));
process.on("SIGINT", () => void stop(130));
setTimeout(() => {
  process.stderr.write(`bench-ping: ${mode} stopped after ${maxSeconds} s\n`);
  void stop(1);
}, maxSeconds * 1000);

type Event = { type?: string; text?: string; nick?: string };
/** Calls `onEvent` with each JSON event mcchat prints, as soon as its line is complete. */
async function readEvents(onEvent: (e: Event, at: number) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
    const at = performance.now();
    partial += decoder.decode(chunk, { stream: true });
    let nl = partial.indexOf("\n");
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf("\n");
      if (!line.startsWith("{")) continue;
      try {
        onEvent(JSON.parse(line) as Event, at);
      } catch {}
    }
  }
}

const write = (line: string) => {
  sink.write(`${line}\n`);
  sink.flush();
};

if (mode === "responder") {
  await readEvents((e) => {
    if (e.type !== "message" || !e.text) return;
    const m = /^ping (\d+)$/.exec(e.text);
    if (m) write(`pong ${m[1]}`);
  });
  await stop(0);
} else {
  const peer = opt("--peer") ?? die("--peer NICK is needed");
  const rate = num("--rate", 1000);
  const count = num("--count", 3000);
  const warmup = num("--warmup", 200);
  const series = new PingSeries({ count, rate, warmup });
  let joined = false;
  void readEvents((e, at) => {
    if (e.type === "join" && e.nick === peer) joined = true;
    if (e.type !== "message" || !e.text) return;
    const m = /^pong (\d+)$/.exec(e.text);
    if (m) series.pong(Number(m[1]), at);
  }).then(() => {
    if (!stopping) {
      process.stderr.write("bench-ping: mcchat ended early\n");
      void stop(1);
    }
  });
  // Readiness: the peer is present (the series then probes until it answers; bounded:
  // --max-seconds stops us).
  while (!joined) await Bun.sleep(10);
  console.log(JSON.stringify(await series.run(write)));
  await stop(0);
}
