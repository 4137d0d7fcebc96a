#!/usr/bin/env bun
/**
 * Build the single executable.
 *   bun scripts/build.ts            -> dist/mcchat for this machine
 *   bun scripts/build.ts --all      -> dist/mcchat-<target> for every release target
 *   bun scripts/build.ts --target bun-linux-arm64 [--outfile F]
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-baseline",
  "bun-linux-x64-musl",
  "bun-linux-arm64",
  "bun-linux-arm64-musl",
  "bun-darwin-x64",
  "bun-darwin-arm64",
  "bun-windows-x64",
] as const;

const root = path.resolve(import.meta.dir, "..");
const { values } = parseArgs({
  options: {
    all: { type: "boolean", default: false },
    target: { type: "string" },
    outfile: { type: "string" },
  },
});

function build(target: string | undefined, outfile: string): void {
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
    ...(target ? [`--target=${target}`] : []),
    path.join(root, "src/main.ts"),
    "--outfile",
    outfile,
  ];
  const started = performance.now();
  const r = Bun.spawnSync(args, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    process.stderr.write(r.stdout.toString() + r.stderr.toString());
    process.stderr.write(`build: failed for ${target ?? "this machine"}\n`);
    process.exit(1);
  }
  const ms = Math.round(performance.now() - started);
  console.log(`build: ${path.relative(root, outfile)}${target ? ` (${target})` : ""} in ${ms} ms`);
}

if (values.all) {
  for (const t of TARGETS) build(t, path.join(root, "dist", `mcchat-${t.replace(/^bun-/, "")}`));
} else {
  build(values.target, path.resolve(root, values.outfile ?? "dist/mcchat"));
}
