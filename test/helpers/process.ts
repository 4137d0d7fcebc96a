/**
 * Child processes for tests: spawn, collect stdout/stderr line by line, wait for a
 * line or for the exit with a bound, and kill everything that is still running at
 * the end (afterEach/afterAll, and a process "exit" handler as the last resort).
 */
import { afterAll } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };

/** Absolute path of the repository root. */
export const ROOT = resolve(import.meta.dir, "../..");

let realRoot: boolean | undefined;
/** True when we are root in the initial user namespace (not the fake root of `unshare -r`). */
export function isRealRoot(): boolean {
  if (realRoot === undefined) {
    let map = "";
    try {
      map = readFileSync("/proc/self/uid_map", "utf8");
    } catch {}
    realRoot = process.getuid?.() === 0 && /^\s*0\s+0\s+4294967295\s*$/.test(map);
  }
  return realRoot;
}

export type StreamName = "stdout" | "stderr";

export interface SpawnOptions {
  /** Text/bytes written to stdin, then closed; "pipe" keeps it open (use write/end). Default: /dev/null. */
  stdin?: string | Uint8Array | "pipe";
  /** Added to the environment (after the hermetic defaults). */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface Proc {
  readonly argv: string[];
  readonly pid: number;
  /** Everything read so far (UTF-8 decoded). */
  readonly stdout: string;
  readonly stderr: string;
  /** Complete lines read so far. */
  lines(stream?: StreamName): string[];
  /** stdout lines parsed as JSON (lines that are not JSON throw). */
  json<T = Record<string, unknown>>(): T[];
  /** Resolves with the first line (already read or still to come) matching `re`. */
  waitForLine(re: RegExp, timeoutMs: number, stream?: StreamName): Promise<string>;
  /** Resolves with the exit code once the process exited and its output is drained. */
  waitForExit(timeoutMs: number): Promise<number>;
  readonly exitCode: number | null;
  readonly exited: boolean;
  write(data: string | Uint8Array): void;
  end(): void;
  /** SIGTERM, then SIGKILL after `graceMs` if it is still running. */
  stop(graceMs?: number): Promise<void>;
  /** Output summary for error messages. */
  describe(): string;
}

const live = new Set<ProcImpl>();

let hermeticHome: string | undefined;
/** A throwaway HOME so a test never reads or writes the user's mcchat config. */
export function testHome(): string {
  hermeticHome ??= mkdtempSync(join(tmpdir(), "mcchat-test-home-"));
  return hermeticHome;
}

function defaultEnv(extra: SpawnOptions["env"]): Record<string, string> {
  const home = testHome();
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    NO_COLOR: "1",
    FORCE_COLOR: undefined,
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

class ProcImpl implements Proc {
  readonly argv: string[];
  private readonly sub: ReturnType<typeof Bun.spawn>;
  private readonly out: Record<StreamName, { text: string; lines: string[] }> = {
    stdout: { text: "", lines: [] },
    stderr: { text: "", lines: [] },
  };
  private waiters: Array<() => void> = [];
  private drained: Promise<void>;
  private code: number | null = null;
  private done = false;

  constructor(argv: string[], opts: SpawnOptions) {
    this.argv = argv;
    const stdin = opts.stdin;
    this.sub = Bun.spawn({
      cmd: argv,
      cwd: opts.cwd ?? ROOT,
      env: defaultEnv(opts.env),
      stdin: stdin === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    if (stdin !== undefined && stdin !== "pipe") {
      this.write(stdin);
      this.end();
    }
    live.add(this);
    const pumps = (["stdout", "stderr"] as const).map((name) =>
      this.pump(name, this.sub[name] as ReadableStream<Uint8Array>),
    );
    this.drained = Promise.all([...pumps, this.sub.exited]).then(() => {
      this.code = this.sub.exitCode ?? (this.sub.signalCode ? 128 : -1);
      this.done = true;
      live.delete(this);
      this.notify();
    });
  }

  private async pump(name: StreamName, stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const buf = this.out[name];
    let partial = "";
    const take = (chunk: string) => {
      buf.text += chunk;
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const p of parts) buf.lines.push(p.replace(/\r$/, ""));
      this.notify();
    };
    for await (const chunk of stream) take(decoder.decode(chunk, { stream: true }));
    take(decoder.decode());
    if (partial !== "") buf.lines.push(partial);
    this.notify();
  }

  private notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Re-evaluates `check` on every output/exit event until it returns a value or time runs out. */
  private until<T>(
    what: string,
    timeoutMs: number,
    check: () => T | undefined,
    onExit?: () => Error | undefined,
  ): Promise<T> {
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== tick);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`),
        );
      }, timeoutMs);
      const tick = () => {
        const v = check();
        if (v !== undefined) {
          clearTimeout(timer);
          resolvePromise(v);
          return;
        }
        const err = this.done ? onExit?.() : undefined;
        if (err) {
          clearTimeout(timer);
          reject(err);
          return;
        }
        this.waiters.push(tick);
      };
      tick();
    });
  }

  get pid(): number {
    return this.sub.pid;
  }
  get stdout(): string {
    return this.out.stdout.text;
  }
  get stderr(): string {
    return this.out.stderr.text;
  }
  get exitCode(): number | null {
    return this.code;
  }
  get exited(): boolean {
    return this.done;
  }

  lines(stream: StreamName = "stdout"): string[] {
    return [...this.out[stream].lines];
  }

  json<T = Record<string, unknown>>(): T[] {
    return this.out.stdout.lines
      .filter((l) => l.trim() !== "")
      .map((l) => {
        try {
          return JSON.parse(l) as T;
        } catch {
          throw new Error(`not a JSON line: ${JSON.stringify(l)}\n${this.describe()}`);
        }
      });
  }

  waitForLine(re: RegExp, timeoutMs: number, stream: StreamName = "stdout"): Promise<string> {
    return this.until(
      `a ${stream} line matching ${re}`,
      timeoutMs,
      () => this.out[stream].lines.find((l) => re.test(l)),
      () =>
        new Error(
          `exited (${this.code}) without a ${stream} line matching ${re}\n${this.describe()}`,
        ),
    );
  }

  waitForExit(timeoutMs: number): Promise<number> {
    return this.until("the exit", timeoutMs, () => (this.done ? (this.code ?? -1) : undefined));
  }

  write(data: string | Uint8Array): void {
    const sink = this.sub.stdin;
    if (!sink || typeof sink === "number") throw new Error("stdin is not a pipe");
    sink.write(data);
    sink.flush();
  }

  end(): void {
    const sink = this.sub.stdin;
    if (sink && typeof sink !== "number") sink.end();
  }

  async stop(graceMs = 1000): Promise<void> {
    if (this.done) return;
    this.sub.kill("SIGTERM");
    const t = setTimeout(() => this.sub.kill("SIGKILL"), graceMs);
    await Promise.race([this.drained, Bun.sleep(graceMs + 2000)]);
    clearTimeout(t);
  }

  killNow(): void {
    if (!this.done) this.sub.kill("SIGKILL");
  }

  describe(): string {
    const cut = (s: string) => (s.length > 4000 ? `…${s.slice(-4000)}` : s);
    return [
      `  command: ${this.argv.join(" ")}`,
      `  exit: ${this.done ? this.code : "still running"}`,
      `  stdout: ${cut(this.stdout) || "(empty)"}`,
      `  stderr: ${cut(this.stderr) || "(empty)"}`,
    ].join("\n");
  }
}

/** Spawn `argv` in the current network namespace. */
export function spawnProc(argv: string[], opts: SpawnOptions = {}): Proc {
  return new ProcImpl(argv, opts);
}

/** Stop every process spawned by these helpers that is still running. For afterEach/afterAll. */
export async function stopAll(graceMs = 1000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

function removeHome(): void {
  if (hermeticHome) rmSync(hermeticHome, { recursive: true, force: true });
  hermeticHome = undefined;
}

// bun test does not run "exit" handlers reliably: clean up after each test file too
// (a hook at the top level of an imported module belongs to the importing file).
try {
  afterAll(async () => {
    await stopAll();
    removeHome();
  });
} catch {
  // Imported outside the test runner (scripts/test.ts): the exit handler must do.
}

process.on("exit", () => {
  for (const p of live) p.killNow();
  removeHome();
});

/** Run a one-shot command with a bound; returns code and output (never throws on exit code). */
export async function run(
  argv: string[],
  opts: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawnProc(argv, opts);
  try {
    const code = await p.waitForExit(opts.timeoutMs ?? 10_000);
    return { code, stdout: p.stdout, stderr: p.stderr };
  } finally {
    await p.stop(200);
  }
}

/**
 * Repeat `attempt` (e.g. send one probe message) every `intervalMs` until `done()` is
 * true, at most `attempts` times. Returns how many attempts it took; throws if never done.
 * This is the readiness handshake: mcchat gives no "joined" signal we rely on.
 */
export async function retryUntil(
  attempt: (n: number) => Promise<unknown> | unknown,
  done: () => boolean,
  { attempts = 20, intervalMs = 250, what = "the condition" } = {},
): Promise<number> {
  for (let n = 1; n <= attempts; n++) {
    await attempt(n);
    const deadline = Date.now() + intervalMs;
    while (Date.now() < deadline) {
      if (done()) return n;
      await Bun.sleep(20);
    }
    if (done()) return n;
  }
  throw new Error(`${what} did not happen after ${attempts} attempts`);
}

/** argv prefix that runs mcchat from source with this Bun (absolute paths: works under ip netns exec). */
export function mcchatCommand(): string[] {
  return [process.execPath, join(ROOT, "src/main.ts")];
}

/**
 * The compiled binary the "binary" implementation runs: dist/mcchat, or the file named by
 * MCCHAT_TEST_BINARY (relative to the repository root), e.g.
 * `MCCHAT_TEST_BINARY=dist/release/mcchat-linux-x64 bun scripts/test.ts test/net/room`
 * runs the multi-host tests against a release binary. dist/mcchat may not exist (the
 * tests skip it); a MCCHAT_TEST_BINARY that does not exist is an error.
 */
export const BINARY = process.env.MCCHAT_TEST_BINARY
  ? resolve(ROOT, process.env.MCCHAT_TEST_BINARY)
  : join(ROOT, "dist/mcchat");

/** The binary implementation's label: "dist/mcchat", or MCCHAT_TEST_BINARY's path from the root. */
export const BINARY_LABEL = relative(ROOT, BINARY) || BINARY;

/**
 * `mcchat --version`'s whole output: `mcchat <version>`, and in release builds (whose
 * binary MCCHAT_TEST_BINARY may name) ` (<commit> <os>-<arch>)` after it.
 */
export const VERSION_OUTPUT = new RegExp(
  `^mcchat ${pkg.version.replaceAll(".", "\\.")}( \\([0-9a-z-]+ [0-9a-z-]+\\))?\n$`,
);

/** argv prefix that runs the compiled binary `dist/mcchat`. */
export function binaryCommand(): string[] {
  return [BINARY];
}

/** The two ways to run mcchat that tests cover; the binary only when it has been built. */
export function implementations(): { label: string; argv: string[]; available: boolean }[] {
  const available = existsSync(BINARY);
  if (!available && process.env.MCCHAT_TEST_BINARY) {
    throw new Error(
      `MCCHAT_TEST_BINARY=${process.env.MCCHAT_TEST_BINARY}: no such file (${BINARY})`,
    );
  }
  return [
    { label: "source", argv: mcchatCommand(), available: true },
    { label: BINARY_LABEL, argv: binaryCommand(), available },
  ];
}

/**
 * `argv` wrapped so it cannot reach a real network: unchanged inside the runner's
 * private namespace (MCCHAT_TEST_NETNS=1), else under `unshare -n` (root) or
 * `unshare -rn`. For CLI tests that run outside test/net.
 */
export function isolated(argv: string[]): string[] {
  if (process.env.MCCHAT_TEST_NETNS === "1") return argv;
  return process.getuid?.() === 0 ? ["unshare", "-n", ...argv] : ["unshare", "-rn", ...argv];
}

/** Path of the Python legacy peer (the seed program's socket usage). */
export const LEGACY_PEER = join(ROOT, "test/helpers/legacy_peer.py");

/** argv prefix for the legacy peer. */
export function legacyPeerCommand(): string[] {
  return [Bun.which("python3") ?? "python3", LEGACY_PEER];
}
