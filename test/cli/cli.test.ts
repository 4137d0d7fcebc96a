/**
 * The real entry point (a subprocess) with bad input, --help and --version, from
 * source and as the compiled binary. Each run is wrapped in `unshare -n` (see
 * isolated()): these cases must fail before touching the network, but if one did
 * not, it still could not send anything out of a real interface.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { implementations, isolated, run, stopAll, VERSION_OUTPUT } from "../helpers/process.ts";

afterAll(() => stopAll());

const BAD: [string, string[]][] = [
  ["a unicast group", ["--group", "10.0.0.1"]],
  ["port 0", ["--port", "0"]],
  ["port 70000", ["--port", "70000"]],
  ["TTL 300", ["--ttl", "300"]],
  ["an unknown encoding", ["-e", "nosuch"]],
  ["an unknown interface", ["-i", "nosuch0"]],
  ["an unknown option", ["--bogus"]],
  ["a unicast IPv6 group", ["--group", "fd00::1"]],
  ["an IPv6 group with a scope", ["--group", "ff15::1%lo"]],
  ["an interface-local group without --ttl 0", ["-g", "ff01::1"]],
  ["--ttl 0 with an IPv6 group that is not ff01::", ["-g", "ff15::1", "--ttl", "0"]],
  ["an SSM group without --source", ["-g", "232.1.2.3"]],
  ["an IPv6 SSM group without --source", ["-g", "ff3e::8000:1"]],
  ["--source of the other family", ["-g", "ff15::1", "--source", "198.18.0.1"]],
  ["--source that is a group", ["--source", "239.1.1.1"]],
  ["--source that is not an address", ["--source", "alice"]],
  ["--interface all with no multicast interface", ["-i", "all"]],
  ["an interface address this host lacks (lo is down here)", ["-g", "ff15::1", "-i", "127.0.0.1"]],
];

/** Issue 10's options: the exact line (the run is in `unshare -n`: only lo, down). */
const BAD_LINES: [string[], string][] = [
  [["-g", "232.1.2.3"], "group 232.1.2.3 is a source-specific group: pass --source ADDR"],
  [
    ["-g", "FF15::1", "--source", "198.18.0.1"],
    "--source 198.18.0.1 is an IPv4 address, but the group ff15::1 is IPv6",
  ],
  [
    ["-g", "ff01::1"],
    "group ff01::1 is interface-local (ff01::/16): it never leaves this host; use it with --ttl 0, or a group such as ff15::…",
  ],
  [
    ["-i", "all"],
    "--interface all: no up, multicast-capable interface has an IPv4 address (see mcchat doctor)",
  ],
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
  ["--passphrase-file"],
  ["--allow-plaintext"],
  ["--count"],
  ["--timeout"],
  ["-y", "--yes"],
  ["-h", "--help"],
  ["-v", "--version"],
];

describe.each(implementations())("mcchat from $label", ({ argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const skipped = available ? "" : " [skipped: dist/mcchat not built]";
  const mc = (args: string[], env: Record<string, string> = {}) =>
    run(isolated([...mcchat, ...args]), { timeoutMs: 10_000, env });
  /** Exit 2 with exactly `line` on stderr (no stack), nothing on stdout. */
  const refused = (r: { code: number; stdout: string; stderr: string }, line: string) => {
    expect(r.stderr).toBe(`mcchat: ${line}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
  };

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

  for (const [args, line] of BAD_LINES) {
    when(`${args.join(" ")} → "${line}"${skipped}`, async () => {
      refused(await mc([...args, "-y"]), line);
    });
  }

  for (const args of [["--passphrase", "s3cret"], ["--passphrase=s3cret"]]) {
    when(`${args.join(" ")} → refused: never on the command line${skipped}`, async () => {
      const r = await mc(["-y", ...args]);
      refused(
        r,
        "never put the passphrase on the command line: use MCCHAT_PASSPHRASE or --passphrase-file",
      );
    });
  }

  when(`--raw with MCCHAT_PASSPHRASE → refused${skipped}`, async () => {
    const r = await mc(["-y", "--raw"], { MCCHAT_PASSPHRASE: "s3cret" });
    refused(r, "--raw rooms cannot be encrypted (passphrase from MCCHAT_PASSPHRASE)");
  });

  when(`--passphrase-file of a missing file → refused${skipped}`, async () => {
    const r = await mc(["-y", "--passphrase-file", "/nonexistent/mcchat-pass"]);
    refused(r, "cannot read passphrase file /nonexistent/mcchat-pass: no such file (ENOENT)");
  });

  when(`--allow-plaintext in an open room → refused${skipped}`, async () => {
    const r = await mc(["-y", "--allow-plaintext"]);
    refused(
      r,
      "--allow-plaintext is for encrypted rooms only (set MCCHAT_PASSPHRASE or --passphrase-file)",
    );
  });

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
    expect(r.stdout).toMatch(VERSION_OUTPUT);
  });

  for (const [command, only] of COMMAND_HELP) {
    const args = command === "" ? ["--help"] : [command, "--help"];
    when(`${args.join(" ")} fits 80 columns and lists only its options${skipped}`, async () => {
      const r = await mc(args);
      expect(r.code).toBe(0);
      const over = r.stdout.split("\n").filter((l) => l.length > 80);
      expect(over).toEqual([]);
      const options = r.stdout.slice(r.stdout.indexOf("\nOptions:\n"));
      const listed = [...options.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]);
      expect(listed).toEqual(only);
    });
  }

  const aliases: [string[], string[]][] = [
    [["help"], ["--help"]],
    [
      ["help", "doctor"],
      ["doctor", "--help"],
    ],
    [
      ["help", "replay"],
      ["replay", "--help"],
    ],
  ];
  for (const [help, same] of aliases) {
    when(`mcchat ${help.join(" ")} is mcchat ${same.join(" ")}${skipped}`, async () => {
      const [a, b] = await Promise.all([mc(help), mc(same)]);
      expect(a.code).toBe(0);
      expect(a.stderr).toBe("");
      expect(a.stdout).toBe(b.stdout);
    });
  }

  for (const [args, line] of NEGATIVE) {
    when(`${args.join(" ")} → "${line}"${skipped}`, async () => {
      refused(await mc([...args, "-y"]), line);
    });
  }

  for (const [args, line] of TYPOS) {
    when(`${args.join(" ")} → "${line}"${skipped}`, async () => {
      refused(await mc(args), line);
    });
  }

  when(`--history 500 says the cap of 50 first${skipped}`, async () => {
    const r = await mc(["--history", "500", "-y", "--listen", "--timeout", "0.2"]);
    expect(r.stderr.split("\n")[0]).toBe(
      "mcchat: history is limited to 50 messages; asking for 50",
    );
  });
});

/** Each command's help: its options, in order (the room's join lists them all). */
const JOIN_OPTIONS = [
  "--group",
  "--port",
  "--encoding",
  "--interface",
  "--ttl",
  "--no-loopback",
  "--raw",
  "--legacy",
  "--listen",
  "--json",
  "--count",
  "--timeout",
  "--nick",
  "--no-bell",
  "--yes",
  "--history",
  "--stats",
  "--passphrase-file",
  "--allow-plaintext",
  "--heartbeat",
  "--no-paste-confirm",
  "--source",
  "--log",
  "--version",
  "--help",
];
const COMMAND_HELP: [string, string[]][] = [
  ["", JOIN_OPTIONS],
  [
    "setup",
    [
      "--group",
      "--port",
      "--encoding",
      "--interface",
      "--ttl",
      "--nick",
      "--passphrase-file",
      "--help",
    ],
  ],
  [
    "doctor",
    ["--group", "--port", "--interface", "--ttl", "--json", "--timeout", "--source", "--help"],
  ],
  ["replay", ["--json", "--help"]],
  ["completion", ["--help"]],
];

/** A negative number is the option's value, refused by the option's own check. */
const NEGATIVE: [string[], string][] = [
  [["--ttl", "-1"], 'ttl must be a whole number from 0 to 255, not "-1"'],
  [["--port", "-5"], 'port must be a whole number from 1 to 65535, not "-5"'],
  [["-p", "-5"], 'port must be a whole number from 1 to 65535, not "-5"'],
  [["--count", "-1"], 'count must be a whole number from 1 to 2147483648, not "-1"'],
  [["--history", "-3"], 'history must be a whole number from 0 to 1000, not "-3"'],
  [["--heartbeat", "-100"], 'heartbeat must be a whole number from 50 to 600000, not "-100"'],
  [["--timeout", "-2"], 'timeout must be a positive number of seconds, not "-2"'],
];

/** Mistyped options and commands: the closest one is suggested. */
const TYPOS: [string[], string][] = [
  [["--histroy", "5"], "unknown option --histroy (did you mean --history?)"],
  [["--groupp", "239.1.1.1"], "unknown option --groupp (did you mean --group?)"],
  [["--frobnicate"], "unknown option --frobnicate (see mcchat --help)"],
  [["docter"], 'unknown command "docter" (did you mean doctor?)'],
  [["help", "replya"], 'no command "replya" (did you mean replay?)'],
];
