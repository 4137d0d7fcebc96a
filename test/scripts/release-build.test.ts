/**
 * `bun scripts/release.ts --only linux-x64,darwin-x64 --out <tmp>` end to end: the two
 * binaries, their archives and SHA256SUMS (checked by `sha256sum -c`), the archive's
 * `mcchat` identical to the binary and runnable here with the commit and target in its
 * --version, and the darwin-x64 binary's ad-hoc signature valid (Bun 1.4.4 leaves it
 * stale; release.ts signs it again). The darwin-x64 runtime comes from the npm registry
 * the first time (then ~/.bun/install/cache).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { verifyAdhoc } from "../../scripts/macho-sign.ts";
import { ROOT } from "../helpers/process.ts";

const out = mkdtempSync(join(tmpdir(), "mcchat-release-build-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const TAR = Bun.which("tar");
const SHA256SUM = Bun.which("sha256sum");
const missing = [!TAR && "tar", !SHA256SUM && "sha256sum"].filter(Boolean).join(", ");

function sh(argv: string[], cwd = out) {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test.skipIf(!!missing)(
  `release --only linux-x64,darwin-x64: files, SHA256SUMS, archives, --version, signature${missing ? ` [skipped: no ${missing}]` : ""}`,
  () => {
    const r = sh(
      [process.execPath, "scripts/release.ts", "--only", "linux-x64,darwin-x64", "--out", out],
      ROOT,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(readdirSync(out).sort()).toEqual([
      "SHA256SUMS",
      "mcchat-darwin-x64",
      "mcchat-darwin-x64.tar.gz",
      "mcchat-linux-x64",
      "mcchat-linux-x64.tar.gz",
    ]);
    expect(sh([SHA256SUM as string, "-c", "SHA256SUMS"])).toEqual({
      code: 0,
      stdout: [
        "mcchat-darwin-x64: OK",
        "mcchat-darwin-x64.tar.gz: OK",
        "mcchat-linux-x64: OK",
        "mcchat-linux-x64.tar.gz: OK",
        "",
      ].join("\n"),
      stderr: "",
    });

    // The archive holds `mcchat` (755) and README.md; its mcchat is the binary, and runs.
    const x = join(out, "x");
    mkdirSync(x);
    expect(sh([TAR as string, "-xzf", "../mcchat-linux-x64.tar.gz"], x).code).toBe(0);
    expect(readdirSync(x).sort()).toEqual(["README.md", "mcchat"].sort());
    expect(statSync(join(x, "mcchat")).mode & 0o777).toBe(0o755);
    expect(
      readFileSync(join(x, "mcchat")).equals(readFileSync(join(out, "mcchat-linux-x64"))),
    ).toBe(true);
    const v = sh([join(x, "mcchat"), "--version"]);
    expect(v.code).toBe(0);
    const commit = sh(["git", "rev-parse", "--short=7", "HEAD"], ROOT).stdout.trim();
    expect(v.stdout).toMatch(
      new RegExp(
        `^mcchat ${pkg.version.replaceAll(".", "\\.")} \\(${commit}(-dirty)? linux-x64\\)\\n$`,
      ),
    );

    // darwin-x64: a Mach-O whose ad-hoc signature covers the whole file.
    expect(verifyAdhoc(readFileSync(join(out, "mcchat-darwin-x64")))).toMatchObject({ ok: true });
  },
  120_000,
);
