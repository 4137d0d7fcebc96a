#!/usr/bin/env bun
import { VERSION_LINE } from "./version.ts";

// `mcchat --version` alone is answered before the argument parser (cac) and the rest of
// the CLI are even loaded: start-up is then that of a hello-world. Any other command
// line, `--version` among other arguments included, goes through cli.ts, which prints
// the same line for it.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  console.log(VERSION_LINE);
  process.exit(0);
}
const { main } = await import("./cli.ts");
await main();
