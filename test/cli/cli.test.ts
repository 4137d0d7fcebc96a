/**
 * The real entry point (a subprocess) with bad input, --help and --version, from
 * source and as the compiled binary. Each run is wrapped in `unshare -n` (see
 * isolated()): these cases must fail before touching the network, but if one did
 * not, it still could not send anything out of a real interface.
 */
import { afterAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { implementations, isolated, run, stopAll } from "../helpers/process.ts";

afterAll(() => stopAll());

const BAD: [string, string[]][] = [
  ["a unicast group", ["--group", "10.0.0.1"]],
  ["port 0", ["--port", "0"]],
  ["port 70000", ["--port", "70000"]],
  ["TTL 300", ["--ttl", "300"]],
  ["an unknown encoding", ["-e", "nosuch"]],
  ["an unknown interface", ["-i", "nosuch0"]],
  ["an unknown option", ["--bogus"]],
];

const OPTIONS = [
  ["-g", "--group"],
  ["-p", "--port"],
  ["-e", "--encoding"],
  ["-i", "--interface"],
  ["--ttl"],
  ["--no-loopback"],
  ["--raw"],
  ["--legacy"],
  ["--listen"],
  ["--json"],
  ["--count"],
  ["--timeout"],
  ["-y", "--yes"],
  ["-h", "--help"],
  ["-v", "--version"],
];

describe.each(implementations())("mcchat from $label", ({ argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const skipped = available ? "" : " [skipped: dist/mcchat not built]";
  const mc = (args: string[]) => run(isolated([...mcchat, ...args]), { timeoutMs: 10_000 });

  for (const [what, args] of BAD) {
    when(
      `${args.join(" ")} (${what}) → exit 2, one line on stderr, no stack${skipped}`,
      async () => {
        const r = await mc([...args, "-y", "--raw"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^[^\n]+\n$/);
        expect(r.stderr).not.toContain("    at ");
        expect(r.stdout).toBe("");
      },
    );
  }

  when(`--help lists every option${skipped}`, async () => {
    const r = await mc(["--help"]);
    expect(r.code).toBe(0);
    for (const names of OPTIONS) {
      for (const name of names) expect(r.stdout).toMatch(new RegExp(`(^|[\\s,])${name}\\b`, "m"));
    }
  });

  when(`--version prints the version${skipped}`, async () => {
    const r = await mc(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`mcchat ${pkg.version}`);
  });
});
