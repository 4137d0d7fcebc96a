/**
 * The flood scenario of issue 7 ("flow control"), shared by test/net/flow.test.ts and
 * scripts/lab-flood.ts: one lab host pipes N numbered lines (~100 bytes each) at full speed
 * into `mcchat -y` (framed, the default), R `--listen --json` receivers on other hosts must
 * each print all N, in order, exactly once.
 *
 * Readiness: every receiver and the sender are started first (the sender with its stdin
 * open and empty); the flood starts once every receiver printed a join for the sender and
 * the sender (run with --json) printed a join for every receiver. So every receiver counts
 * the sender's messages from seq 0, and the sender knows every receiver is present.
 *
 * Timing: t0 = the first byte written to the sender's stdin. `inputSeconds` = until the last
 * byte was written into the pipe (the sender has read all but at most a pipe buffer of it),
 * `senderSeconds` = until the sender exited (includes its drain/linger after EOF),
 * `allSeconds` = until every receiver exited (each exits by itself at --count, or at
 * --timeout). Rates are lines / those times.
 *
 * Optional disturbances: freeze one receiver (SIGSTOP) once it has printed `afterLines`
 * lines, for `ms`, then SIGCONT; random loss on one receiver's host (nftables, Host.setLoss).
 */
import { join } from "node:path";
import { waitFor } from "./events.ts";
import { type Host, type Proc, testHome } from "./netns.ts";

export interface FloodOptions {
  /** argv prefix that runs mcchat (source: [bun, src/main.ts]; binary: [dist/mcchat]). */
  mcchat: string[];
  /** Runs the sender. */
  tx: Host;
  /** One listener on each. */
  rx: Host[];
  lines: number;
  port: number;
  group?: string;
  /** --timeout of the receivers, seconds (they should exit at --count long before). */
  timeoutS?: number;
  /** How long the sender may take after its input ended before it is killed (ms). */
  senderExitMs?: number;
  /**
   * How long receivers may take to finish after the sender exited (ms, default 20,000); then
   * they are stopped and count as incomplete. (A sender that exits before every receiver is
   * done has broken its promise anyway; this only keeps a failing run short.)
   */
  afterSenderMs?: number;
  /** SIGSTOP receiver `receiver` once it has printed `afterLines` lines, SIGCONT after `ms`. */
  freeze?: { receiver: number; afterLines: number; ms: number };
  /** Drop `percent` % of incoming UDP on receiver `receiver`'s host during the flood. */
  loss?: { receiver: number; percent: number };
  /** Prefix to make texts distinct between runs (default "f"). */
  tag?: string;
  /** Extra env for every mcchat (e.g. for libfaketime). */
  env?: Record<string, string>;
  /** Progress output (e.g. console.log); default silent. */
  log?: (line: string) => void;
}

export interface ReceiverResult {
  nick: string;
  exitCode: number | null;
  /** Message events from the sender (live, not history). */
  received: number;
  distinct: number;
  duplicates: number;
  /** Messages whose number is not greater than the one printed before. */
  outOfOrder: number;
  /** Numbers never printed. */
  missing: number;
  /** `lost` events printed, and the sum of their counts. */
  lostEvents: number;
  lostCount: number;
  /** Lines that are not the sender's well-formed flood text (should be 0). */
  foreign: number;
  /** Seconds from t0 to the exit (or to the end of the run if it did not exit). */
  seconds: number;
  /** The --stats line (stderr), if printed. */
  stats?: string;
  /** First missing numbers (for reports), at most 5. */
  firstMissing: number[];
}

export interface FloodResult {
  lines: number;
  senderExit: number | null;
  senderStderr: string;
  inputSeconds: number;
  senderSeconds: number;
  allSeconds: number;
  receivers: ReceiverResult[];
  /** True when every receiver has every line exactly once, in order, and the sender exited 0. */
  ok: boolean;
}

/** The text of flood line `i` (1-based): `<tag> <9 digits> ` padded to 100 bytes. */
export function floodLine(tag: string, i: number): string {
  const head = `${tag} ${String(i).padStart(9, "0")} `;
  const filler = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3);
  return (head + filler).slice(0, 100);
}

/** All N lines, newline-terminated, as one buffer. */
export function floodInput(tag: string, n: number): Uint8Array {
  const parts: string[] = new Array(n);
  for (let i = 0; i < n; i++) parts[i] = floodLine(tag, i + 1);
  return new TextEncoder().encode(`${parts.join("\n")}\n`);
}

/** Number of a flood line, or undefined when `text` is not one of `tag`'s lines. */
export function floodNumber(tag: string, text: string): number | undefined {
  const m = /^(\S+) (\d{9}) /.exec(text);
  if (!m || m[1] !== tag) return undefined;
  const i = Number(m[2]);
  return text === floodLine(tag, i) ? i : undefined;
}

/**
 * The numbers of `tag`'s flood lines in a --json output, in the order printed, and how many of
 * its message lines were not JSON.
 */
export function floodShown(output: string, tag: string): { numbers: number[]; broken: number } {
  const numbers: number[] = [];
  let broken = 0;
  for (const line of output.split("\n")) {
    if (!line.includes('"type":"message"')) continue;
    try {
      const i = floodNumber(tag, (JSON.parse(line) as { text?: string }).text ?? "");
      if (i !== undefined) numbers.push(i);
    } catch {
      broken++;
    }
  }
  return { numbers, broken };
}

/** Counts what a receiver printed (its stdout as JSON lines). */
export function analyse(
  tag: string,
  n: number,
  nick: string,
  p: Proc,
  senderId: string | undefined,
  seconds: number,
): ReceiverResult {
  const seen = new Uint8Array(n + 1);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let foreign = 0;
  let lostEvents = 0;
  let lostCount = 0;
  let prev = 0;
  for (const line of p.lines("stdout")) {
    if (line.trim() === "") continue;
    let e: { type?: string; id?: string; text?: string; history?: boolean; count?: number };
    try {
      e = JSON.parse(line);
    } catch {
      foreign++;
      continue;
    }
    if (e.type === "lost") {
      lostEvents++;
      lostCount += e.count ?? 0;
      continue;
    }
    if (e.type !== "message" || e.history) continue;
    if (senderId !== undefined && e.id !== senderId) {
      foreign++;
      continue;
    }
    const i = floodNumber(tag, e.text ?? "");
    if (i === undefined || i < 1 || i > n) {
      foreign++;
      continue;
    }
    received++;
    if (seen[i]) duplicates++;
    seen[i] = 1;
    if (i <= prev) outOfOrder++;
    prev = i;
  }
  let distinct = 0;
  const firstMissing: number[] = [];
  for (let i = 1; i <= n; i++) {
    if (seen[i]) distinct++;
    else if (firstMissing.length < 5) firstMissing.push(i);
  }
  const stats = p.lines("stderr").find((l) => l.startsWith("mcchat: stats:"));
  return {
    nick,
    exitCode: p.exitCode,
    received,
    distinct,
    duplicates,
    outOfOrder,
    missing: n - distinct,
    lostEvents,
    lostCount,
    foreign,
    seconds,
    stats,
    firstMissing,
  };
}

/** The sender: spawned directly (not via Proc) so the test knows when its input is written. */
class Sender {
  readonly sub: ReturnType<typeof Bun.spawn>;
  stdout = "";
  stderr = "";
  private readonly pumps: Promise<void>;
  exitedAt: number | undefined;
  exitCode: number | null = null;

  constructor(host: Host, argv: string[], env: Record<string, string>) {
    this.sub = Bun.spawn({
      cmd: [Bun.which("ip") ?? "/usr/sbin/ip", "netns", "exec", host.name, ...argv],
      env: { ...process.env, ...env } as Record<string, string>,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const pump = async (s: ReadableStream<Uint8Array>, k: "stdout" | "stderr") => {
      const d = new TextDecoder();
      for await (const c of s) this[k] += d.decode(c, { stream: true });
    };
    this.pumps = Promise.all([
      pump(this.sub.stdout as ReadableStream<Uint8Array>, "stdout"),
      pump(this.sub.stderr as ReadableStream<Uint8Array>, "stderr"),
    ]).then(() => {});
    void this.sub.exited.then((code) => {
      this.exitedAt = performance.now();
      this.exitCode = code;
    });
  }

  /** JSON events printed so far (join lines of the receivers). */
  events(): { type?: string; nick?: string; id?: string }[] {
    return this.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
  }

  /** Writes everything into stdin and closes it; resolves when the last byte is in the pipe. */
  async feed(data: Uint8Array): Promise<void> {
    const sink = this.sub.stdin as import("bun").FileSink;
    const CHUNK = 256 * 1024;
    for (let off = 0; off < data.length; off += CHUNK) {
      sink.write(data.subarray(off, Math.min(off + CHUNK, data.length)));
      await sink.flush();
    }
    await sink.end();
  }

  async waitExit(ms: number): Promise<number | null> {
    const t = setTimeout(() => this.kill(), ms);
    await this.sub.exited;
    clearTimeout(t);
    await Promise.race([this.pumps, Bun.sleep(2000)]);
    return this.sub.exitCode ?? (this.sub.signalCode ? 128 : null);
  }

  kill(): void {
    if (this.sub.exitCode === null && this.sub.signalCode === null) this.sub.kill("SIGKILL");
  }

  describe(): string {
    const cut = (s: string) => (s.length > 3000 ? `…${s.slice(-3000)}` : s);
    return `  sender exit: ${this.exitCode}\n  sender stdout: ${cut(this.stdout)}\n  sender stderr: ${cut(this.stderr)}`;
  }
}

/** Runs the flood once; every process it started has ended when it returns. */
export async function runFlood(o: FloodOptions): Promise<FloodResult> {
  const tag = o.tag ?? "f";
  const n = o.lines;
  const log = o.log ?? (() => {});
  const env = { NO_COLOR: "1", ...(o.env ?? {}) };
  const room = ["-y", "-p", String(o.port), ...(o.group ? ["-g", o.group] : []), "--stats"];
  const timeoutS = o.timeoutS ?? 120;
  const input = floodInput(tag, n);

  const receivers = o.rx.map((h, i) =>
    h.spawn(
      [
        ...o.mcchat,
        ...room,
        "-n",
        `rx${i + 1}`,
        "--listen",
        "--json",
        "--count",
        String(n),
        "--timeout",
        String(timeoutS),
      ],
      { env },
    ),
  );
  const home = testHome();
  const sender = new Sender(o.tx, [...o.mcchat, ...room, "-n", "tx", "--json"], {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    ...env,
  });
  const rxNicks = receivers.map((_, i) => `rx${i + 1}`);
  let txId: string | undefined;
  try {
    const joined = (p: Proc, nick: string) =>
      p.lines("stdout").some((l) => l.includes('"type":"join"') && l.includes(`"nick":"${nick}"`));
    await waitFor(
      () =>
        receivers.every((p) => joined(p, "tx")) &&
        rxNicks.every((nick) => sender.events().some((e) => e.type === "join" && e.nick === nick)),
      20_000,
      "every receiver sees tx join and tx sees every receiver",
      receivers,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${sender.describe()}`);
    });
    const firstJoin = receivers[0]
      ?.lines("stdout")
      .map((l) => {
        try {
          return JSON.parse(l) as { type?: string; nick?: string; id?: string };
        } catch {
          return {};
        }
      })
      .find((e) => e.type === "join" && e.nick === "tx");
    txId = firstJoin?.id;

    if (o.loss) await o.rx[o.loss.receiver]?.setLoss(o.loss.percent);

    log(`flood: ${n} lines to ${receivers.length} receivers`);
    const t0 = performance.now();
    let inputAt = 0;
    const feeding = sender.feed(input).then(
      () => {
        inputAt = performance.now();
      },
      (e) => {
        inputAt = performance.now();
        log(`flood: writing the sender's input failed: ${(e as Error).message}`);
      },
    );

    const exitAt = new Map<Proc, number>();
    for (const p of receivers) {
      void p.waitForExit(10 * 60_000).then(
        () => exitAt.set(p, performance.now()),
        () => {},
      );
    }

    if (o.freeze) {
      const fz = o.freeze;
      const p = receivers[fz.receiver] as Proc;
      await waitFor(
        () => p.exited || p.lines("stdout").length >= fz.afterLines,
        timeoutS * 1000,
        `receiver ${fz.receiver + 1} prints ${fz.afterLines} lines`,
        [p],
      );
      if (!p.exited) {
        process.kill(p.pid, "SIGSTOP");
        const at = p.lines("stdout").length;
        log(`flood: rx${fz.receiver + 1} frozen at ${at} lines for ${fz.ms} ms`);
        try {
          await Bun.sleep(fz.ms); // the disturbance itself, not a wait for a condition
        } finally {
          process.kill(p.pid, "SIGCONT");
        }
        log(`flood: rx${fz.receiver + 1} resumed`);
      }
    }

    await feeding;
    const senderExit = await sender.waitExit(o.senderExitMs ?? timeoutS * 1000);
    const senderAt = sender.exitedAt ?? performance.now();
    const grace = Math.min(o.afterSenderMs ?? 20_000, (timeoutS + 15) * 1000);
    await Promise.all(receivers.map((p) => p.waitForExit(grace).catch(() => {})));
    const unfinished = receivers.filter((p) => !p.exited).length;
    if (unfinished > 0) {
      log(`flood: ${unfinished} receiver(s) still running ${grace} ms after the sender exited`);
    }
    const end = performance.now();
    if (o.loss) await o.rx[o.loss.receiver]?.clearLoss();
    const results = receivers.map((p, i) =>
      analyse(tag, n, rxNicks[i] as string, p, txId, ((exitAt.get(p) ?? end) - t0) / 1000),
    );
    const allSeconds = Math.max(...results.map((r) => r.seconds));
    const ok =
      senderExit === 0 &&
      results.every(
        (r) =>
          r.exitCode === 0 &&
          r.received === n &&
          r.distinct === n &&
          r.duplicates === 0 &&
          r.outOfOrder === 0 &&
          r.lostEvents === 0 &&
          r.foreign === 0,
      );
    return {
      lines: n,
      senderExit,
      senderStderr: sender.stderr,
      inputSeconds: (inputAt - t0) / 1000,
      senderSeconds: (senderAt - t0) / 1000,
      allSeconds,
      receivers: results,
      ok,
    };
  } finally {
    sender.kill();
    await Promise.all(receivers.map((p) => p.stop(1000)));
    if (o.loss) await o.rx[o.loss.receiver]?.clearLoss();
  }
}

const rate = (n: number, s: number) => (s > 0 ? Math.round(n / s) : 0);

/** One line per receiver plus the sender's timings, for logs and the issue note. */
export function formatFlood(r: FloodResult): string[] {
  const out = [
    `sender: exit ${r.senderExit}, input written in ${r.inputSeconds.toFixed(2)} s (${rate(r.lines, r.inputSeconds)} msg/s), exited after ${r.senderSeconds.toFixed(2)} s (${rate(r.lines, r.senderSeconds)} msg/s); all receivers done after ${r.allSeconds.toFixed(2)} s (${rate(r.lines, r.allSeconds)} msg/s)`,
  ];
  for (const x of r.receivers) {
    out.push(
      `  ${x.nick}: ${x.exitCode === null ? "still running (stopped)" : `exit ${x.exitCode}`}, got ${x.distinct}/${r.lines} (${x.received} printed, ${x.duplicates} dup, ${x.outOfOrder} out of order, ${x.missing} missing${x.firstMissing.length ? ` e.g. ${x.firstMissing.join(",")}` : ""}, ${x.lostEvents} lost events / ${x.lostCount} datagrams, ${x.foreign} foreign) in ${x.seconds.toFixed(2)} s${x.stats ? `\n    ${x.stats}` : ""}`,
    );
  }
  const st = r.senderStderr
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-3);
  for (const l of st) out.push(`  tx stderr: ${l}`);
  return out;
}
