/**
 * Start-up structure (issue 9): `--version`, `--help` and bad usage must not load the
 * network, session, UI or iconv-lite code. The binary is built with `--splitting`
 * (scripts/build.ts): a dynamic import loads the chunk of its module and the chunks that
 * one imports statically, nothing more. main.ts imports cli.ts, which parses the
 * arguments and imports the rest for the command it runs. This bundles src/main.ts the
 * same way (not minified, so each module is named by a `// path` comment) and checks
 * what is loaded up to the parse. Speed itself is measured by `npm run bench`, not here.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import {
  implementations,
  isolated,
  ROOT,
  run,
  stopAll,
  VERSION_OUTPUT,
} from "../helpers/process.ts";

afterAll(() => stopAll());

/**
 * The modules (`// path` comments) in the chunks loaded up to the argument parse (the
 * entry, cli.ts's chunk and what they import statically), and those of the other chunks.
 */
async function startupModules(): Promise<{ modules: string[]; lazy: string[] }> {
  const built = await Bun.build({
    entrypoints: [join(ROOT, "src/main.ts")],
    target: "bun",
    format: "esm",
    splitting: true,
  });
  expect(built.success).toBe(true);
  const chunks = new Map<string, string>();
  for (const out of built.outputs) chunks.set(out.path.replace(/^.*\//, ""), await out.text());
  const entry = built.outputs.find((o) => o.kind === "entry-point");
  if (!entry) throw new Error("no entry chunk");
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const text = chunks.get(name) ?? "";
    // Static imports only: `import {…} from "./chunk.js"` / `import"./chunk.js"`.
    for (const m of text.matchAll(/^import\s*(?:[^"';]*?\sfrom\s*)?"\.\/([^"]+)";?$/gms)) {
      visit(m[1] as string);
    }
  };
  visit(entry.path.replace(/^.*\//, ""));
  const cli = [...chunks].find(([, text]) => /^\/\/ src\/cli\.ts$/m.test(text));
  if (!cli) throw new Error("no chunk holds src/cli.ts");
  visit(cli[0]);
  const modulesOf = (names: Iterable<string>) =>
    [...names].flatMap((n) =>
      [...(chunks.get(n) ?? "").matchAll(/^\/\/ (?:\S*?\/)?((?:src|node_modules)\/\S+)$/gm)].map(
        (m) => m[1] as string,
      ),
    );
  const lazy = [...chunks.keys()].filter((n) => !seen.has(n));
  return { modules: modulesOf(seen), lazy: modulesOf(lazy) };
}

describe("start-up", () => {
  test("up to the argument parse: cac and cli.ts, not the network, session, UI or iconv-lite", async () => {
    const { modules, lazy } = await startupModules();
    expect(modules).toContain("src/cli.ts");
    expect(modules.some((m) => m.startsWith("node_modules/cac/"))).toBe(true);
    for (const heavy of [
      /^src\/session\//,
      /^src\/net\//,
      /^src\/ui\//,
      /^src\/protocol\//,
      /^src\/config\/(options|store)\.ts$/,
      /^node_modules\/(iconv-lite|@clack|picocolors)\//,
    ]) {
      expect(modules.filter((m) => heavy.test(m))).toEqual([]);
    }
    // …and they do exist, behind dynamic imports (the check above is not vacuous).
    for (const m of [
      "src/session/session.ts",
      "src/net/udp-transport.ts",
      "src/ui/pipe.ts",
      "src/ui/chat.ts",
      "src/ui/wizard.ts",
      "src/protocol/text-codec.ts",
    ]) {
      expect(lazy).toContain(m);
    }
    expect(lazy.some((m) => m.startsWith("node_modules/iconv-lite/"))).toBe(true);
  }, 30_000);
});

describe.each(implementations())("mcchat from $label", ({ argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const skipped = available ? "" : " [skipped: dist/mcchat not built]";
  const mc = (args: string[]) => run(isolated([...mcchat, ...args]), { timeoutMs: 10_000 });

  // `--version` / `-v` alone take main.ts's shortcut; with other arguments, cac's parse.
  for (const args of [["--version"], ["-v"], ["-y", "--version"], ["--version", "--raw"]]) {
    when(`${args.join(" ")} prints the version, exit 0${skipped}`, async () => {
      const r = await mc(args);
      expect(r).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(VERSION_OUTPUT),
        stderr: "",
      });
    });
  }

  when(`--help with --version prints the help (as before the shortcut)${skipped}`, async () => {
    const r = await mc(["--help", "--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--passphrase-file");
    expect(r.stdout).not.toContain(`mcchat ${pkg.version}`);
  });
});
