#!/usr/bin/env bun
/**
 * Build the single executable.
 *   bun scripts/build.ts            -> dist/mcchat for this machine
 *   bun scripts/build.ts --all      -> dist/mcchat-<target> for every release target
 *   bun scripts/build.ts --target bun-linux-arm64 [--outfile F]
 * scripts/release.ts imports build() (and TARGETS) for `npm run release`.
 * Cross targets: Bun fetches the target's runtime from the npm registry once and
 * caches it under ~/.bun/install/cache.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

export const TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-baseline",
  "bun-linux-x64-musl",
  "bun-linux-arm64",
  "bun-linux-arm64-musl",
  "bun-darwin-x64",
  "bun-darwin-arm64",
  "bun-windows-x64",
] as const;

export const ROOT = path.resolve(import.meta.dir, "..");

export interface BuildOptions {
  /** A `bun build --target` (bun-linux-arm64 …); undefined = this machine. */
  target?: string;
  /** Where the executable goes (".exe" is appended by Bun for Windows targets). */
  outfile: string;
  /** `--define NAME=JSON` pairs, e.g. { MCCHAT_BUILD: '"3945967 linux-x64"' }. */
  define?: Record<string, string>;
  /** Print the one-line "build: … in N ms" (default true). */
  log?: boolean;
}

export class BuildError extends Error {}

/** Compiles src/main.ts into one executable; returns the build time in ms. Throws BuildError. */
export function build(opts: BuildOptions): number {
  const { target, outfile } = opts;
  mkdirSync(path.dirname(outfile), { recursive: true });
  const args = [
    process.execPath,
    "build",
    "--compile",
    // One chunk per dynamic import: the entry loads only what parsing the arguments needs.
    // Without it every module's node: imports are linked at start-up, and @clack/core's
    // `import { stdout, stdin } from "process"` alone costs ~9 ms (--version: 12 ms -> 5).
    "--splitting",
    "--minify",
    "--bytecode",
    "--format=esm",
    "--sourcemap=linked",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...Object.entries(opts.define ?? {}).map(([k, v]) => `--define=${k}=${v}`),
    ...(target ? [`--target=${target}`] : []),
    path.join(ROOT, "src/main.ts"),
    "--outfile",
    outfile,
  ];
  const started = performance.now();
  const r = Bun.spawnSync(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new BuildError(
      `${r.stdout.toString()}${r.stderr.toString()}build: failed for ${target ?? "this machine"}`,
    );
  }
  const ms = Math.round(performance.now() - started);
  if (opts.log !== false) {
    console.log(
      `build: ${path.relative(ROOT, outfile)}${target ? ` (${target})` : ""} in ${ms} ms`,
    );
  }
  return ms;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string" },
      outfile: { type: "string" },
    },
  });
  try {
    if (values.all) {
      for (const t of TARGETS) {
        build({ target: t, outfile: path.join(ROOT, "dist", `mcchat-${t.replace(/^bun-/, "")}`) });
      }
    } else {
      build({
        target: values.target,
        outfile: path.resolve(ROOT, values.outfile ?? "dist/mcchat"),
      });
    }
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
