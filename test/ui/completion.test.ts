/**
 * Completion scripts: generated from buildCli(), syntax-checked by each shell (bash -n,
 * zsh -n, fish -n where installed), and driven through bash's and fish's completion
 * machinery to see what they offer.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cac } from "cac";
import { buildCli } from "../../src/cli.ts";
import { UserError } from "../../src/errors.ts";
import { brief, cliSpec, completionScript, SHELLS } from "../../src/ui/completion.ts";

const has = (shell: string) => Bun.which(shell) !== null;

function sh(argv: string[], cwd?: string): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(argv, {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "" },
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function scriptFile(shell: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "mcchat-completion-"));
  temps.push(dir);
  const path = join(dir, `mcchat.${shell}`);
  writeFileSync(path, text);
  return path;
}

const spec = cliSpec(buildCli());
const FLAGS = spec.options.flatMap((o) => o.flags);

test("the spec holds every command and option of buildCli()", () => {
  expect(spec.commands.map((c) => c.name)).toEqual(["setup", "doctor", "replay", "completion"]);
  for (const f of ["-g", "--group", "--log", "--source", "--no-loopback", "-h", "--help", "-v"]) {
    expect(FLAGS).toContain(f);
  }
  const log = spec.options.find((o) => o.flags.includes("--log"));
  expect(log?.value).toBe("file");
  expect(spec.options.find((o) => o.flags.includes("--raw"))?.value).toBe("none");
  expect(spec.options.find((o) => o.flags.includes("-i"))?.value).toBe("interface");
  expect(spec.commands.find((c) => c.name === "replay")?.args).toEqual(["file"]);
  expect(spec.commands.find((c) => c.name === "completion")?.args).toEqual(["shell"]);
});

test("a new option or command in the definition is completed without touching completion.ts", () => {
  const cli = cac("demo");
  cli.option("--frobnicate <file>", "Frobnicate from FILE").option("--quiet", "Say less");
  cli.command("", "Default");
  cli.command("launch <file>", "Launch it");
  for (const shell of SHELLS) {
    const text = completionScript(shell, cli);
    expect(text).toContain("frobnicate");
    expect(text).toContain("quiet");
    expect(text).toContain("launch");
  }
});

test("an unknown shell is a UserError", () => {
  expect(() => completionScript("tcsh", buildCli())).toThrow(UserError);
  expect(() => completionScript("tcsh", buildCli())).toThrow(
    'no completion for the shell "tcsh": use bash, zsh or fish',
  );
});

test("brief() keeps menu descriptions short and free of parentheses", () => {
  expect(brief("Multicast group (default 239.1.100.1)")).toBe("Multicast group");
  expect(
    brief(
      "Private (encrypted) room: read the passphrase from this file (or set X; never on the command line)",
    ),
  ).toBe("Private room: read the passphrase from this file");
  for (const o of spec.options) expect(brief(o.description).length).toBeLessThanOrEqual(71);
});

describe.each(SHELLS)("%s", (shell) => {
  const text = completionScript(shell, buildCli());

  test("names every option and command", () => {
    for (const c of spec.commands) expect(text).toContain(c.name);
    for (const f of FLAGS) {
      // fish spells -g / --group as `-s g` / `-l group`.
      const spelled =
        shell !== "fish" ? f : f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`;
      expect(text).toContain(spelled);
    }
  });

  test.skipIf(!has(shell))(`${shell} -n accepts it`, () => {
    const r = sh([shell, "-n", scriptFile(shell, text)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!has("bash"))("bash offers", () => {
  const script = scriptFile("bash", completionScript("bash", buildCli()));
  const work = mkdtempSync(join(tmpdir(), "mcchat-completion-cwd-"));
  mkdirSync(join(work, "logs"));
  writeFileSync(join(work, "logs", "room.jsonl"), "");
  /** COMPREPLY for the command line `words` (the last word is the one being completed). */
  const offer = (words: string[]): string[] => {
    const quoted = words.map((w) => `'${w}'`).join(" ");
    const r = sh(
      [
        "bash",
        "-c",
        `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _mcchat; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      work,
    );
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter((l) => l !== "");
  };

  test("the commands, then options after -", () => {
    expect(offer(["mcchat", ""])).toEqual(["setup", "doctor", "replay", "completion"]);
    expect(offer(["mcchat", "re"])).toEqual(["replay"]);
    expect(offer(["mcchat", "--enc"])).toEqual(["--encoding"]);
    expect(offer(["mcchat", "--l"]).sort()).toEqual(["--legacy", "--listen", "--log"]);
  });

  test("values: encodings, shells, files for --log and replay", () => {
    expect(offer(["mcchat", "-e", "gb"])).toEqual(["gbk", "gb18030"]);
    expect(offer(["mcchat", "completion", ""])).toEqual(["bash", "zsh", "fish"]);
    expect(offer(["mcchat", "--log", "logs/"])).toEqual(["logs/room.jsonl"]);
    expect(offer(["mcchat", "replay", "logs/r"])).toEqual(["logs/room.jsonl"]);
    expect(offer(["mcchat", "-i", "l"])).toContain("lo");
  });

  test("option values are not taken for the command", () => {
    // "replay" here is --nick's value, so the next word is still the command.
    expect(offer(["mcchat", "--nick", "replay", "comp"])).toEqual(["completion"]);
    expect(offer(["mcchat", "--log", "x", "completion", "z"])).toEqual(["zsh"]);
    // A value is expected after --group: nothing is made up.
    expect(offer(["mcchat", "--group", ""])).toEqual([]);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));
});

describe.skipIf(!has("fish"))("fish offers", () => {
  const script = scriptFile("fish", completionScript("fish", buildCli()));
  const offer = (line: string): string[] => {
    const r = sh(["fish", "--no-config", "-c", `source '${script}'; complete -C '${line}'`]);
    expect(r.stderr).toBe("");
    return r.stdout
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t")[0] as string);
  };

  test("commands, options, values", () => {
    expect(offer("mcchat ")).toEqual(
      expect.arrayContaining(["setup", "doctor", "replay", "completion"]),
    );
    expect(offer("mcchat --enc")).toEqual(["--encoding"]);
    expect(offer("mcchat --encoding=gb").sort()).toEqual(["--encoding=gb18030", "--encoding=gbk"]);
    expect(offer("mcchat completion ").sort()).toEqual(["bash", "fish", "zsh"]);
  });
});

/** LINE<Tab> in an interactive zsh with a completion script loaded (zpty); see the file. */
const ZSH_DRIVER = join(import.meta.dir, "../fixtures/zsh-complete.zsh");

describe.skipIf(!has("zsh"))("zsh offers", () => {
  const script = scriptFile("zsh", completionScript("zsh", buildCli()));
  const dir = mkdtempSync(join(tmpdir(), "mcchat-zsh-"));
  temps.push(dir);
  let n = 0;
  const offer = (line: string): string[] => {
    const out = join(dir, `out-${++n}`);
    const r = sh(["zsh", "-f", ZSH_DRIVER, out, script, line]);
    expect(r.code).toBe(0);
    const text = existsSync(out) ? readFileSync(out, "utf8") : "";
    return [...new Set(text.split("\n").filter((l) => l !== ""))].sort();
  };

  test("commands, options, values (through compinit and _arguments)", () => {
    expect(offer("mcchat ")).toEqual(["completion", "doctor", "replay", "setup"]);
    expect(offer("mcchat --enc")).toEqual(["--encoding"]);
    expect(offer("mcchat -e gb")).toEqual(["gb18030", "gbk"]);
    expect(offer("mcchat completion ")).toEqual(["bash", "fish", "zsh"]);
    expect(offer("mcchat --nick replay comp")).toEqual(["completion"]);
  });
});
describe.skipIf(!has("zsh"))("zsh loads it", () => {
  test("as a sourced script after compinit, registering _mcchat for mcchat", () => {
    const script = scriptFile("zsh", completionScript("zsh", buildCli()));
    const home = mkdtempSync(join(tmpdir(), "mcchat-zsh-"));
    temps.push(home);
    const r = sh([
      "zsh",
      "-f",
      "-c",
      `ZDOTDIR='${home}'; autoload -U compinit; compinit -u -d '${home}/zcompdump'; source '${script}'; print -r -- \${_comps[mcchat]}`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("_mcchat");
  });
});
