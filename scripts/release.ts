#!/usr/bin/env bun
/**
 * `npm run release`: the release assets in dist/release/.
 *
 *   mcchat-<os>-<arch>[.exe]        one executable per target (scripts/build.ts's build())
 *   mcchat-<os>-<arch>.tar.gz       unix: `mcchat` (mode 755), README.md, LICENSE if present
 *   mcchat-windows-x64.zip          windows: `mcchat.exe`, README.md, LICENSE if present
 *   SHA256SUMS                      `sha256sum -c SHA256SUMS` checks every binary and archive
 *
 * darwin binaries whose code signature does not verify (Bun 1.4.4's darwin-x64 output)
 * are signed again ad hoc (scripts/macho-sign.ts); Apple Silicon runs nothing unsigned.
 *
 * `mcchat --version` of a release binary prints `mcchat <version> (<commit> <os>-<arch>)`
 * (the commit gets `-dirty` when tracked files differ from it). Archive entries carry the
 * commit's time (or SOURCE_DATE_EPOCH) and owner 0, so the archives depend only on the files.
 *
 *   bun scripts/release.ts [--out DIR] [--only linux-arm64,windows-x64]
 *
 * Cross targets' runtimes come from the npm registry once (cached in ~/.bun/install/cache).
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import pkg from "../package.json" with { type: "json" };
import { BuildError, build, ROOT } from "./build.ts";
import { adhocSign, verifyAdhoc } from "./macho-sign.ts";

/** The release targets, as `bun build --target` names. */
export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-musl",
  "bun-linux-arm64",
  "bun-darwin-x64",
  "bun-darwin-arm64",
  "bun-windows-x64",
] as const;

export interface Asset {
  /** `bun build --target`. */
  target: string;
  /** `linux-x64-musl`, `windows-x64`: the target without `bun-`. */
  platform: string;
  windows: boolean;
  /** The executable's file name in the release: mcchat-linux-x64, mcchat-windows-x64.exe. */
  binary: string;
  /** The archive's file name: mcchat-linux-x64.tar.gz, mcchat-windows-x64.zip. */
  archive: string;
  /** The executable's name inside the archive: mcchat, mcchat.exe. */
  entry: string;
}

/** File names for one target. Throws on a name that is not a `bun-<os>-<arch>…` target. */
export function assetFor(target: string): Asset {
  const m = /^bun-(linux|darwin|windows)-(x64|arm64)(-[a-z0-9-]+)?$/.exec(target);
  if (!m) throw new Error(`not a release target: ${target}`);
  const platform = target.slice("bun-".length);
  const windows = m[1] === "windows";
  return {
    target,
    platform,
    windows,
    binary: `mcchat-${platform}${windows ? ".exe" : ""}`,
    archive: `mcchat-${platform}${windows ? ".zip" : ".tar.gz"}`,
    entry: windows ? "mcchat.exe" : "mcchat",
  };
}

/** What `--version` shows in parentheses: `3945967 linux-arm64`, `3945967-dirty windows-x64`. */
export function buildLabel(commit: string, target: string): string {
  return `${commit} ${assetFor(target).platform}`;
}

/** SHA256SUMS text as `sha256sum` writes it (`<hex>  <name>`), sorted by name. */
export function sha256sums(files: ReadonlyArray<{ name: string; sha256: string }>): string {
  for (const f of files) {
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`not a SHA-256: ${f.sha256}`);
    if (/[\\\n]/.test(f.name) || f.name !== path.basename(f.name)) {
      throw new Error(`not a plain file name: ${JSON.stringify(f.name)}`);
    }
  }
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.name}\n`)
    .join("");
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface ArchiveEntry {
  name: string;
  data: Uint8Array;
  /** Unix permission bits (0o755 for the executable, 0o644 for documents). */
  mode: number;
}

/** A ustar archive (uid/gid 0, owner "root"), gzip-compressed. */
export function tarGz(entries: readonly ArchiveEntry[], mtime: number): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  let size = 0;
  const push = (b: Uint8Array) => {
    blocks.push(b);
    size += b.length;
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    if (name.length > 100) throw new Error(`tar: name too long: ${e.name}`);
    const h = new Uint8Array(512);
    const put = (off: number, len: number, text: string) =>
      h.set(enc.encode(text).subarray(0, len), off);
    const octal = (off: number, len: number, n: number) =>
      put(off, len, `${n.toString(8).padStart(len - 1, "0")}\0`);
    h.set(name, 0);
    octal(100, 8, e.mode);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, e.data.length);
    octal(136, 12, Math.floor(mtime));
    put(148, 8, "        "); // checksum field counts as spaces
    put(156, 1, "0");
    put(257, 8, "ustar\u000000");
    put(265, 32, "root");
    put(297, 32, "root");
    const sum = h.reduce((a, b) => a + b, 0);
    put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    push(h);
    push(e.data);
    if (e.data.length % 512) push(new Uint8Array(512 - (e.data.length % 512)));
  }
  push(new Uint8Array(1024)); // two zero blocks end the archive
  if (size % 10240) push(new Uint8Array(10240 - (size % 10240))); // whole 20-block records
  const tar = new Uint8Array(size);
  let at = 0;
  for (const b of blocks) {
    tar.set(b, at);
    at += b.length;
  }
  return gzipSync(tar, { level: 6 });
}

/** MS-DOS date and time fields (local time as UTC: zip has no zone) of a Unix time. */
function dosDateTime(mtime: number): { time: number; date: number } {
  const d = new Date(Math.max(mtime, 315532800) * 1000); // zip cannot go before 1980
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** A zip archive of deflated entries (no zip64: each entry and the whole under 4 GiB). */
export function zip(entries: readonly ArchiveEntry[], mtime: number): Uint8Array {
  const { time, date } = dosDateTime(mtime);
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = deflateRawSync(e.data, { level: 6 });
    const crc = crc32(e.data);
    /** The fields a local header and its central directory entry share, from `at` on. */
    const shared = (h: Buffer, at: number) => {
      h.writeUInt16LE(20, at); // version needed: 2.0 (deflate)
      h.writeUInt16LE(0x0800, at + 2); // UTF-8 names
      h.writeUInt16LE(8, at + 4); // deflate
      h.writeUInt16LE(time, at + 6);
      h.writeUInt16LE(date, at + 8);
      h.writeUInt32LE(crc, at + 10);
      h.writeUInt32LE(body.length, at + 14);
      h.writeUInt32LE(e.data.length, at + 18);
      h.writeUInt16LE(name.length, at + 22);
    };
    const local = Buffer.alloc(30); // the extra field length (at 28) stays 0
    local.writeUInt32LE(0x04034b50, 0);
    shared(local, 4);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: the external attributes hold the mode
    shared(cd, 6);
    cd.writeUInt32LE((0o100000 | e.mode) * 0x10000, 38); // regular file + mode, high 16 bits
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
    if (offset > 0xffffffff) throw new Error("zip: over 4 GiB");
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/** The archive's entries for one target: the executable, then README.md and LICENSE if present. */
export function archiveEntries(
  asset: Asset,
  binary: Uint8Array,
  docs: ReadonlyArray<{ name: string; data: Uint8Array }>,
): ArchiveEntry[] {
  return [
    { name: asset.entry, data: binary, mode: 0o755 },
    ...docs.map((d) => ({ name: d.name, data: d.data, mode: 0o644 })),
  ];
}

function git(args: string[]): string | undefined {
  const r = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
}

/** Short commit hash, `-dirty` if tracked files differ from it; "unknown" outside git. */
export function currentCommit(): string {
  const hash = git(["rev-parse", "--short=7", "HEAD"]);
  if (!hash) return "unknown";
  const dirty = (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "";
  return dirty ? `${hash}-dirty` : hash;
}

/** SOURCE_DATE_EPOCH, else the commit's time, else now (seconds). */
function sourceDate(): number {
  const env = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(env) && env > 0) return env;
  const t = Number(git(["log", "-1", "--format=%ct"]));
  return Number.isInteger(t) && t > 0 ? t : Math.floor(Date.now() / 1000);
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function release(outDir: string, targets: readonly string[]): Promise<void> {
  const started = performance.now();
  const assets = targets.map(assetFor);
  const commit = currentCommit();
  const mtime = sourceDate();
  const docs = ["README.md", "LICENSE"]
    .filter((n) => existsSync(path.join(ROOT, n)))
    .map((name) => ({ name, data: readFileSync(path.join(ROOT, name)) }));
  // Remove the previous release's files only (never the directory: --out could be any).
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) {
    if (/^mcchat-|^SHA256SUMS$|^\.stage$/.test(f)) {
      rmSync(path.join(outDir, f), { recursive: true, force: true });
    }
  }
  const stage = path.join(outDir, ".stage");
  mkdirSync(stage, { recursive: true });
  console.log(
    `release: mcchat ${pkg.version} (${commit}), ${assets.length} targets -> ${path.relative(ROOT, outDir) || "."}`,
  );

  const sums: { name: string; sha256: string }[] = [];
  const rows: string[] = [];
  for (const a of assets) {
    // Each target in its own directory: the build also writes the chunks' .map files.
    const dir = path.join(stage, a.platform);
    const buildMs = build({
      target: a.target,
      outfile: path.join(dir, "mcchat"),
      define: { MCCHAT_BUILD: JSON.stringify(buildLabel(commit, a.target)) },
      log: false,
    });
    const built = path.join(dir, a.entry); // Bun appends .exe for Windows
    const binPath = path.join(outDir, a.binary);
    renameSync(built, binPath);
    chmodSync(binPath, 0o755);
    let bin: Buffer = readFileSync(binPath);
    let signNote = "";
    if (a.platform.startsWith("darwin")) {
      // Bun re-signs darwin-arm64 output but leaves darwin-x64 with the runtime's stale
      // signature: replace a signature that does not verify by an ad-hoc one (macho-sign.ts).
      const before = verifyAdhoc(bin);
      if (!before.ok) {
        bin = adhocSign(bin, "mcchat");
        const after = verifyAdhoc(bin);
        if (!after.ok) throw new Error(`${a.binary}: re-signed, still invalid: ${after.detail}`);
        writeFileSync(binPath, bin, { mode: 0o755 });
        signNote = `, re-signed ad hoc (was: ${before.detail})`;
      } else {
        signNote = `, signature ok`;
      }
    }
    const packStart = performance.now();
    const entries = archiveEntries(a, bin, docs);
    const archive = a.windows ? zip(entries, mtime) : tarGz(entries, mtime);
    writeFileSync(path.join(outDir, a.archive), archive, { mode: 0o644 });
    const packMs = Math.round(performance.now() - packStart);
    sums.push(
      { name: a.binary, sha256: sha256(bin) },
      { name: a.archive, sha256: sha256(archive) },
    );
    rows.push(
      `  ${a.binary.padEnd(26)} ${mib(bin.length).padStart(10)}  ${a.archive.padEnd(30)} ${mib(archive.length).padStart(10)}  build ${buildMs} ms, pack ${packMs} ms${signNote}`,
    );
    console.log(rows[rows.length - 1]);
  }
  rmSync(stage, { recursive: true, force: true });
  writeFileSync(path.join(outDir, "SHA256SUMS"), sha256sums(sums));
  const total = (performance.now() - started) / 1000;
  const bytes = sums.reduce((n, s) => n + statSync(path.join(outDir, s.name)).size, 0);
  console.log(
    `release: ${sums.length} files + SHA256SUMS, ${mib(bytes)} in all, in ${total.toFixed(1)} s (check: cd ${path.relative(ROOT, outDir)} && sha256sum -c SHA256SUMS)`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "dist/release" },
      only: { type: "string" },
    },
  });
  const targets = values.only
    ? values.only.split(",").map((p) => `bun-${p.trim().replace(/^bun-/, "")}`)
    : [...RELEASE_TARGETS];
  try {
    for (const t of targets) assetFor(t);
    await release(path.resolve(ROOT, values.out), targets);
  } catch (err) {
    process.stderr.write(
      `release: ${err instanceof BuildError ? err.message : String((err as Error).message ?? err)}\n`,
    );
    process.exit(1);
  }
}
