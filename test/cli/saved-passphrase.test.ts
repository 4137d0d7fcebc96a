/**
 * Issue 15: the passphrase saved in the config file is checked like --passphrase-file, from
 * source and as the binary, in a network namespace of its own (a run that gets past the
 * check cannot join: it says so and exits 1, touching no real interface).
 *
 * A config file holding a passphrase that others may read is a warning; one that others could
 * replace (the file or a directory above it writable by them, or theirs) is refused, one line,
 * exit 1, before anything joins. A passphrase given for the run leaves the saved one unused.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { implementations, isolated, run, stopAll } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "mcchat-cli-saved-pass-"));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** An XDG_CONFIG_HOME whose mcchat/config.json holds a passphrase, at the modes given. */
function configHome(fileMode: number, dirMode: number) {
  const home = mkdtempSync(join(dir, "xdg-"));
  const d = join(home, "mcchat");
  mkdirSync(d);
  chmodSync(d, dirMode);
  const file = join(d, "config.json");
  writeFileSync(file, '{"passphrase":"saved s3cret"}\n');
  chmodSync(file, fileMode);
  return { home, d, file };
}

describe.each(implementations())("mcchat from $label", ({ argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const skipped = available ? "" : " [skipped: dist/mcchat not built]";
  const mc = (home: string, env: Record<string, string | undefined> = {}) =>
    run(isolated([...mcchat, "-y", "--listen"]), {
      timeoutMs: 10_000,
      env: { XDG_CONFIG_HOME: home, MCCHAT_PASSPHRASE: undefined, ...env },
    });

  when(
    `a 0644 config in a 0777 directory: its passphrase refused, one line, exit 1${skipped}`,
    async () => {
      const { home, d, file } = configHome(0o644, 0o777);
      const r = await mc(home);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: `mcchat: refusing the passphrase saved in ${file}: other users can write its directory ${d} (mode 0777), so another user could replace it (fix: chmod go-w ${d}; or give it with MCCHAT_PASSPHRASE or --passphrase-file)\n`,
      });
    },
  );

  when(`a 0664 config: refused (others can write it)${skipped}`, async () => {
    const { home, file } = configHome(0o664, 0o700);
    const r = await mc(home);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(
      `mcchat: refusing the passphrase saved in ${file}: other users can write it (mode 0664)`,
    );
    expect(r.stderr.split("\n").length).toBe(2);
  });

  when(
    `a 0644 config in a private directory: one warning, then the run goes on${skipped}`,
    async () => {
      const { home, file } = configHome(0o644, 0o700);
      const r = await mc(home);
      const lines = r.stderr.split("\n");
      expect(lines[0]).toBe(
        `mcchat: warning: config file ${file} holds the room passphrase and other users can read it (mode 0644): chmod 600 ${file}`,
      );
      // Past the check: it went on to join, which a namespace without interfaces cannot.
      expect(lines[1]).toMatch(/^mcchat: cannot join group /);
    },
  );

  when(`a 0600 config in a 0700 directory: nothing said about it${skipped}`, async () => {
    const { home } = configHome(0o600, 0o700);
    const r = await mc(home);
    expect(r.stderr).toMatch(/^mcchat: cannot join group [^\n]*\n$/);
  });

  when(
    `MCCHAT_PASSPHRASE given: the loose saved one is not used, nor refused${skipped}`,
    async () => {
      const { home } = configHome(0o644, 0o777);
      const r = await mc(home, { MCCHAT_PASSPHRASE: "given for this run" });
      expect(r.stderr).toMatch(/^mcchat: cannot join group [^\n]*\n$/);
    },
  );
});
