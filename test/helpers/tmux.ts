/**
 * A terminal for network tests: one tmux pane (a PTY) running a command inside a lab host,
 * on a private tmux socket. Keys go in with send-keys; the screen comes back with
 * capture-pane; everything the program writes to the pane can be logged to a file
 * (`pipe-pane`), which is how a test counts thousands of lines that scrolled past.
 * The screen can also be read as rows with the cursor position (screen-layout tests).
 */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Host, run } from "./netns.ts";

const TMUX = Bun.which("tmux") ?? "/usr/bin/tmux";

export class Pane {
  private constructor(
    private readonly sock: string,
    /** A private directory for this pane (HOME of the command, logs). */
    readonly dir: string,
  ) {}

  /**
   * Starts `argv` in a `width` x `height` pane in `host`'s network namespace. stderr of the
   * command goes to `<dir>/stderr` (or, with `stderrOnScreen`, to the pane like stdout);
   * when the command exits the pane prints `EXIT=<status>` and stays open.
   */
  static async start(
    host: Host,
    argv: string[],
    env: Record<string, string> = {},
    { width = 200, height = 40, stderrOnScreen = false } = {},
  ): Promise<Pane> {
    const dir = mkdtempSync(join(tmpdir(), "mcchat-pane-"));
    const pane = new Pane(join(dir, "tmux.sock"), dir);
    const vars = Object.entries({ HOME: dir, ...env }).map(([k, v]) => `${k}=${v}`);
    await host.exec(
      [
        TMUX,
        "-S",
        pane.sock,
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        String(width),
        "-y",
        String(height),
        "-s",
        "main",
        "--",
        // Colours on (as a user would have them): capture-pane returns the text only.
        "env",
        "-u",
        "NO_COLOR",
        ...vars,
        "sh",
        "-c",
        stderrOnScreen
          ? 'shift; "$@"; echo "EXIT=$?"; exec sleep 3600'
          : 'f=$1; shift; "$@" 2>"$f"; echo "EXIT=$?"; exec sleep 3600',
        "sh",
        join(dir, "stderr"),
        ...argv,
      ],
      { timeoutMs: 10_000 },
    );
    return pane;
  }

  /** Path of the file the pane's output is copied to, once pipeOutput() ran. */
  get logFile(): string {
    return join(this.dir, "pane.log");
  }

  get stderrFile(): string {
    return join(this.dir, "stderr");
  }

  async tmux(...args: string[]): Promise<string> {
    const r = await run([TMUX, "-S", this.sock, ...args], { timeoutMs: 5000 });
    if (r.code !== 0) throw new Error(`tmux ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** From now on, copy everything the program writes to the pane into logFile. */
  async pipeOutput(): Promise<void> {
    await this.tmux("pipe-pane", "-o", "-t", "main", `cat >> '${this.logFile}'`);
  }

  /** Keys by tmux name: "Enter", "C-d", "BSpace", "Escape"… */
  async keys(...names: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "main", ...names);
  }

  /** Text typed literally (no Enter). */
  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", "main", "-l", text);
  }

  /** The visible rows, trailing spaces removed. */
  async rows(): Promise<string[]> {
    const out = await this.tmux("capture-pane", "-p", "-t", "main");
    return out.split("\n").map((l) => l.replace(/\s+$/, ""));
  }

  /** The visible rows joined by "\n". */
  async screen(): Promise<string> {
    return (await this.rows()).join("\n");
  }

  async cursor(): Promise<{ x: number; y: number }> {
    const [x, y] = (
      await this.tmux("display-message", "-p", "-t", "main", "#{cursor_x} #{cursor_y}")
    )
      .trim()
      .split(" ")
      .map(Number);
    return { x: x ?? -1, y: y ?? -1 };
  }

  /** Polls the screen until `re` matches (bounded). */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let s = "";
    while (Date.now() < deadline) {
      s = await this.screen();
      if (re.test(s)) return s;
      await Bun.sleep(50);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} on screen:\n${s}`);
  }

  /**
   * Polls screen and cursor until `ok(rows, cursor)` holds (bounded): for states that
   * take several writes to reach (e.g. a line printed, then the prompt redrawn).
   */
  async settle(
    ok: (rows: string[], cursor: { x: number; y: number }) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<{ rows: string[]; cursor: { x: number; y: number } }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.rows();
      const cursor = await this.cursor();
      if (ok(rows, cursor)) return { rows, cursor };
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; cursor ${cursor.x},${cursor.y}, screen:\n${rows.join("\n")}`,
        );
      }
      await Bun.sleep(50);
    }
  }

  async close(): Promise<void> {
    await run([TMUX, "-S", this.sock, "kill-server"], { timeoutMs: 5000 }).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * For a test file: a function that starts a pane with `options` (see Pane.start) and closes
 * it after the test.
 */
export function panesPerTest(options: Parameters<typeof Pane.start>[3] = {}) {
  const open: Pane[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
  });
  return async (host: Host, argv: string[], env: Record<string, string> = {}): Promise<Pane> => {
    const p = await Pane.start(host, argv, env, options);
    open.push(p);
    return p;
  };
}

/** `s` without ANSI escape sequences and carriage returns. */
export function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r/g, "");
}
