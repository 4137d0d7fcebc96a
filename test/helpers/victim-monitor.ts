/**
 * Watching processes under attack (test/net/hostile.test.ts): resident memory and CPU time from
 * /proc, and byte counters on a lab host's UDP output (nftables). Linux only; the processes must
 * be visible in this PID namespace (the test runner's, where lab processes run).
 */
import { readFileSync } from "node:fs";
import type { Host, Proc } from "./netns.ts";

const NFT = Bun.which("nft") ?? "/usr/sbin/nft";
/** Kernel clock ticks per second for /proc/PID/stat times (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

/** VmRSS of `pid` in bytes, or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of `pid` in seconds, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Name of the program `pid` runs (e.g. "bun"): to check that a Proc's pid is mcchat itself. */
export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * Samples the RSS of `procs` every `intervalMs`, keeping each one's peak. A process above
 * `killAboveBytes` is SIGKILLed at once (protects the machine from a runaway victim) and noted.
 */
export class RssWatch {
  readonly peak = new Map<Proc, number>();
  readonly killed = new Set<Proc>();
  private timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly procs: Proc[],
    private readonly killAboveBytes: number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const p of this.procs) {
      if (p.exited) continue;
      const rss = rssBytes(p.pid);
      if (rss === undefined) continue;
      if (rss > (this.peak.get(p) ?? 0)) this.peak.set(p, rss);
      if (rss > this.killAboveBytes && !this.killed.has(p)) {
        this.killed.add(p);
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {}
      }
    }
  }

  /** Peak RSS of `p` in MB (1 MB = 2^20 bytes). */
  peakMB(p: Proc): number {
    return (this.peak.get(p) ?? 0) / 2 ** 20;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** Share of one core each of `pids` used over the next `ms` (0.1 = 10 %); NaN if gone. */
export async function cpuShare(pids: number[], ms = 1000): Promise<number[]> {
  const before = pids.map(cpuSeconds);
  const t0 = performance.now();
  await Bun.sleep(ms);
  const after = pids.map(cpuSeconds);
  const seconds = (performance.now() - t0) / 1000;
  // NaN for a process that is gone (it cannot be called idle).
  return pids.map((_, i) => ((after[i] ?? Number.NaN) - (before[i] ?? Number.NaN)) / seconds);
}

/**
 * Counts the UDP bytes (whole IP packets) `host` sends: a counter rule in the output hook of
 * its own table `inet hostile` (replaced if it exists). `dport` limits it to one port.
 */
export async function countOutput(host: Host, dport?: number): Promise<void> {
  const rule = dport === undefined ? "meta l4proto udp counter" : `udp dport ${dport} counter`;
  const ruleset = [
    "add table inet hostile",
    "delete table inet hostile",
    "table inet hostile {",
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    `    ${rule}`,
    "  }",
    "}",
    "",
  ].join("\n");
  await host.exec([NFT, "-f", "-"], { stdin: ruleset });
}

/** Bytes counted so far by countOutput's rule on `host`. */
export async function outputBytes(host: Host): Promise<number> {
  const r = await host.exec([NFT, "list", "table", "inet", "hostile"]);
  const m = /counter packets (\d+) bytes (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`${host.name}: no counter in\n${r.stdout}`);
  return Number(m[2]);
}
