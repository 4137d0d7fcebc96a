/**
 * The issue-10 commands and --log at the command line (a subprocess, from source and as
 * the binary), where they must answer without the network: --help lists the commands,
 * `completion` prints a script its shell accepts, `replay` of a missing or damaged file,
 * and a --log path that cannot be written (refused before joining).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { implementations, isolated, run, stopAll } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "mcchat-cli-log-"));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(implementations())("mcchat from $label", ({ argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const skipped = available ? "" : " [skipped: dist/mcchat not built]";
  const mc = (args: string[]) => run(isolated([...mcchat, ...args]), { timeoutMs: 10_000 });

  when(`--help lists the commands${skipped}`, async () => {
    const r = await mc(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Commands:\n {2}setup +Run the setup wizard[^\n]*\n {2}doctor +[^\n]+\n {2}replay <file> +Print a transcript[^\n]*\n {2}completion <shell> +Print a shell completion script/,
    );
    expect(r.stdout).toContain("$ mcchat <command> [options]");
  });

  when(`completion bash prints a script bash accepts${skipped}`, async () => {
    const r = await mc(["completion", "bash"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const file = join(dir, `completion-${Math.random()}.bash`);
    writeFileSync(file, r.stdout);
    const check = Bun.spawnSync(["bash", "-n", file], { stderr: "pipe" });
    expect(check.stderr.toString()).toBe("");
    expect(check.exitCode).toBe(0);
    expect(r.stdout).toContain("complete -F _mcchat mcchat");
  });

  when(`completion of an unknown shell: one line, exit 2${skipped}`, async () => {
    const r = await mc(["completion", "tcsh"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: 'mcchat: no completion for the shell "tcsh": use bash, zsh or fish\n',
    });
  });

  when(`replay of a missing file: one line, exit 1${skipped}`, async () => {
    const missing = join(dir, "missing.jsonl");
    const r = await mc(["replay", missing]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `mcchat: cannot read ${missing}: no such file (ENOENT)\n`,
    });
  });

  when(
    `replay of a damaged file: the good lines, a warning per bad one, exit 1${skipped}`,
    async () => {
      const file = join(dir, "damaged.jsonl");
      const good =
        '{"type":"join","time":"2026-11-27T10:00:00.000Z","from":"10.0.0.2:5000","nick":"bob","id":"b2b2b2b2b2b2b2b2"}';
      writeFileSync(file, `${good}\nnot json\n${good}\n{"type":"join"`);
      const r = await mc(["replay", file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /^-- \d{4}-\d\d-\d\d --\n\d\d:\d\d:\d\d -- bob joined \(10\.0\.0\.2\)\n\d\d:\d\d:\d\d -- bob joined \(10\.0\.0\.2\)\n$/,
      );
      expect(r.stderr).toBe(
        `mcchat: warning: ${file}:2: not JSON, skipped\nmcchat: warning: ${file}:4: not JSON, skipped\n`,
      );
    },
  );

  when(
    `--log in a missing directory: refused before joining, one line, exit 1${skipped}`,
    async () => {
      const path = join(dir, "no-such-dir", "room.jsonl");
      const r = await mc(["-y", "--listen", "--log", path]);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: `mcchat: cannot open the log ${path}: no such file (ENOENT)\n`,
      });
    },
  );

  // Issue 15: what another local user plants at the --log path in a directory they can write.
  const victim = () => {
    const path = join(dir, `victim-${Math.random()}`);
    writeFileSync(path, "export PS1='$ '\n");
    chmodSync(path, 0o644);
    return path;
  };
  const untouched = (path: string) => {
    expect(readFileSync(path, "utf8")).toBe("export PS1='$ '\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
  };
  const refusedLine = (path: string, why: string) =>
    `mcchat: refusing the log ${path}: ${why} (give the path of a regular file of yours)\n`;

  when(
    `--log at a planted symlink: refused, one line, exit 1; its target untouched${skipped}`,
    async () => {
      const target = victim();
      const path = join(dir, `link-${Math.random()}.jsonl`);
      symlinkSync(target, path);
      const r = await mc(["-y", "--listen", "--log", path]);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: refusedLine(path, "it is a symbolic link"),
      });
      untouched(target);
    },
  );

  when(`--log at a planted FIFO: refused at once, one line, exit 1${skipped}`, async () => {
    const path = join(dir, `fifo-${Math.random()}`);
    execFileSync("mkfifo", ["-m", "0666", path]);
    const r = await mc(["-y", "--listen", "--log", path]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: refusedLine(path, "it is not a regular file (a FIFO or socket)"),
    });
  });

  // Only root can give a file away (chown); the unit test covers it for other users.
  (available && process.getuid?.() === 0 ? test : test.skip)(
    `--log at a file of another user (as root: chowned to nobody): refused, mode untouched${skipped}`,
    async () => {
      const path = victim();
      chownSync(path, 65534, 65534);
      const r = await mc(["-y", "--listen", "--log", path]);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: refusedLine(path, "it belongs to another user (uid 65534)"),
      });
      untouched(path);
    },
  );

  when(`--log without a file name: usage error${skipped}`, async () => {
    const r = await mc(["-y", "--listen", "--log"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mcchat: [^\n]*--log[^\n]*\n$/);
  });
});
