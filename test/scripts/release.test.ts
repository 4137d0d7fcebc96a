/**
 * scripts/release.ts without building anything: asset names per target, the --version
 * label, SHA256SUMS as `sha256sum -c` reads it, and the .tar.gz / .zip writers checked
 * with the system's tar, unzip and sha256sum (each test skips, saying so, without them).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  archiveEntries,
  assetFor,
  buildLabel,
  RELEASE_TARGETS,
  sha256,
  sha256sums,
  tarGz,
  zip,
} from "../../scripts/release.ts";

const dir = mkdtempSync(join(tmpdir(), "mcchat-release-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TAR = Bun.which("tar");
const UNZIP = Bun.which("unzip");
const SHA256SUM = Bun.which("sha256sum");

function sh(argv: string[], cwd = dir): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

// 1 MiB of varied bytes (an incompressible-ish "binary"), a text, an empty file.
const binary = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
const readme = new TextEncoder().encode("# mcchat\n\nünïcödé ✓\n");
const MTIME = 1_790_000_000; // 2026-09-21T14:13:20Z

describe("names", () => {
  test("the six release targets and their binaries, archives and archive entries", () => {
    expect(RELEASE_TARGETS.map(assetFor)).toEqual([
      {
        target: "bun-linux-x64",
        platform: "linux-x64",
        windows: false,
        binary: "mcchat-linux-x64",
        archive: "mcchat-linux-x64.tar.gz",
        entry: "mcchat",
      },
      {
        target: "bun-linux-x64-musl",
        platform: "linux-x64-musl",
        windows: false,
        binary: "mcchat-linux-x64-musl",
        archive: "mcchat-linux-x64-musl.tar.gz",
        entry: "mcchat",
      },
      {
        target: "bun-linux-arm64",
        platform: "linux-arm64",
        windows: false,
        binary: "mcchat-linux-arm64",
        archive: "mcchat-linux-arm64.tar.gz",
        entry: "mcchat",
      },
      {
        target: "bun-darwin-x64",
        platform: "darwin-x64",
        windows: false,
        binary: "mcchat-darwin-x64",
        archive: "mcchat-darwin-x64.tar.gz",
        entry: "mcchat",
      },
      {
        target: "bun-darwin-arm64",
        platform: "darwin-arm64",
        windows: false,
        binary: "mcchat-darwin-arm64",
        archive: "mcchat-darwin-arm64.tar.gz",
        entry: "mcchat",
      },
      {
        target: "bun-windows-x64",
        platform: "windows-x64",
        windows: true,
        binary: "mcchat-windows-x64.exe",
        archive: "mcchat-windows-x64.zip",
        entry: "mcchat.exe",
      },
    ]);
  });

  test("a name that is not a bun-<os>-<arch> target is refused", () => {
    for (const bad of [
      "linux-x64",
      "bun-freebsd-x64",
      "bun-linux-riscv",
      "bun-linux-x64/../x",
      "",
    ]) {
      expect(() => assetFor(bad)).toThrow(/not a release target/);
    }
  });

  test("the --version label: commit and platform", () => {
    expect(buildLabel("3945967", "bun-linux-arm64")).toBe("3945967 linux-arm64");
    expect(buildLabel("3945967-dirty", "bun-windows-x64")).toBe("3945967-dirty windows-x64");
  });

  test("archive entries: the executable (755) first, then the documents (644)", () => {
    const docs = [{ name: "README.md", data: readme }];
    const unix = archiveEntries(assetFor("bun-darwin-arm64"), binary, docs);
    expect(unix.map((e) => [e.name, e.mode.toString(8)])).toEqual([
      ["mcchat", "755"],
      ["README.md", "644"],
    ]);
    const win = archiveEntries(assetFor("bun-windows-x64"), binary, docs);
    expect(win.map((e) => e.name)).toEqual(["mcchat.exe", "README.md"]);
  });
});

describe("SHA256SUMS", () => {
  test("`<hex>  <name>` lines sorted by name; the known digest of 'abc'", () => {
    expect(sha256(new TextEncoder().encode("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    expect(
      sha256sums([
        { name: "mcchat-windows-x64.zip", sha256: a },
        { name: "mcchat-linux-x64", sha256: b },
      ]),
    ).toBe(`${b}  mcchat-linux-x64\n${a}  mcchat-windows-x64.zip\n`);
  });

  test("refuses what sha256sum -c could not read back", () => {
    const ok = "0".repeat(64);
    expect(() => sha256sums([{ name: "x", sha256: "ABC" }])).toThrow(/not a SHA-256/);
    expect(() => sha256sums([{ name: "sub/x", sha256: ok }])).toThrow(/plain file name/);
    expect(() => sha256sums([{ name: "a\nb", sha256: ok }])).toThrow(/plain file name/);
  });

  test.skipIf(!SHA256SUM)("sha256sum -c accepts it, and rejects a changed file", () => {
    const d = join(dir, "sums");
    mkdirSync(d);
    const files = { "mcchat-linux-x64": binary, "mcchat-linux-x64.tar.gz": readme };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(d, name), data);
    writeFileSync(
      join(d, "SHA256SUMS"),
      sha256sums(Object.entries(files).map(([name, data]) => ({ name, sha256: sha256(data) }))),
    );
    const good = sh([SHA256SUM as string, "-c", "SHA256SUMS"], d);
    expect(good).toEqual({
      code: 0,
      out: "mcchat-linux-x64: OK\nmcchat-linux-x64.tar.gz: OK\n",
    });
    writeFileSync(join(d, "mcchat-linux-x64"), binary.subarray(1));
    const bad = sh([SHA256SUM as string, "-c", "SHA256SUMS"], d);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("mcchat-linux-x64: FAILED");
  });
});

describe("archives", () => {
  const entries = [
    { name: "mcchat", data: binary, mode: 0o755 },
    { name: "README.md", data: readme, mode: 0o644 },
    { name: "EMPTY", data: new Uint8Array(0), mode: 0o644 },
  ];

  test("the same files give the same bytes (no clock, no owner in them)", () => {
    expect(sha256(tarGz(entries, MTIME))).toBe(sha256(tarGz(entries, MTIME)));
    expect(sha256(zip(entries, MTIME))).toBe(sha256(zip(entries, MTIME)));
    expect(sha256(tarGz(entries, MTIME))).not.toBe(sha256(tarGz(entries, MTIME + 2)));
  });

  test.skipIf(!TAR)("tar lists names, modes, owner, sizes and time, and extracts the bytes", () => {
    const d = join(dir, "tar");
    mkdirSync(d);
    writeFileSync(join(d, "a.tar.gz"), tarGz(entries, MTIME));
    const list = sh([TAR as string, "-tvzf", "a.tar.gz", "--numeric-owner", "--full-time"], d);
    expect(list.code).toBe(0);
    const rows = list.out
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    // -rwxr-xr-x 0/0 1048576 2026-09-21 14:13:20 mcchat (time in the local zone: TZ=UTC below)
    expect(rows.map((r) => [r[0], r[1], r[2], r[5]])).toEqual([
      ["-rwxr-xr-x", "0/0", String(binary.length), "mcchat"],
      ["-rw-r--r--", "0/0", String(readme.length), "README.md"],
      ["-rw-r--r--", "0/0", "0", "EMPTY"],
    ]);
    const utc = Bun.spawnSync([TAR as string, "-tvzf", "a.tar.gz", "--full-time"], {
      cwd: d,
      env: { ...process.env, TZ: "UTC" },
    });
    expect(utc.stdout.toString()).toContain("2026-09-21 14:13:20 mcchat");
    const x = sh([TAR as string, "-xzf", "a.tar.gz"], d);
    expect(x.code).toBe(0);
    expect(sha256(readFileSync(join(d, "mcchat")))).toBe(sha256(binary));
    expect(readFileSync(join(d, "README.md"))).toEqual(Buffer.from(readme));
  });

  test.skipIf(!UNZIP)("unzip tests the CRCs, lists names and modes, extracts the bytes", () => {
    const d = join(dir, "zip");
    mkdirSync(d);
    writeFileSync(join(d, "a.zip"), zip(entries, MTIME));
    const t = sh([UNZIP as string, "-t", "a.zip"], d);
    expect(t.code).toBe(0);
    expect(t.out).toContain("No errors detected");
    // zipinfo: mode, size, date (dd-Mmm-yy: local time as written, zip has no zone) and name
    const z = sh([UNZIP as string, "-Z", "-s", "a.zip"], d);
    const rows = z.out
      .split("\n")
      .filter((l) => /^-/.test(l))
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => [r[0], r[3], r[6], r[7], r[8]])).toEqual([
      ["-rwxr-xr-x", String(binary.length), "26-Sep-21", "14:13", "mcchat"],
      ["-rw-r--r--", String(readme.length), "26-Sep-21", "14:13", "README.md"],
      ["-rw-r--r--", "0", "26-Sep-21", "14:13", "EMPTY"],
    ]);
    const x = sh([UNZIP as string, "-q", "a.zip"], d);
    expect(x.code).toBe(0);
    expect(sha256(readFileSync(join(d, "mcchat")))).toBe(sha256(binary));
    expect(readFileSync(join(d, "README.md"))).toEqual(Buffer.from(readme));
  });
});
