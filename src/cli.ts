/**
 * The command line. Start-up is on the clock (`mcchat --version` should cost little more
 * than a compiled hello-world): the arguments are parsed with only cac and the small
 * modules below loaded; everything else (config, iconv-lite tables, network, session, UI)
 * is imported by the command that needs it. --help, --version and the usage errors
 * cac finds answer without touching process.stdin/stdout/stderr either: in Bun the first
 * access to one of them costs ~9 ms (console.* and Bun.write do not).
 */
import { cac } from "cac";
import type { RawOptions } from "./config/options.ts";
import { PASSPHRASE_ENV, refusePassphraseArgument } from "./config/passphrase.ts";
import { didYouMean } from "./did-you-mean.ts";
import { CancelledError, UserError } from "./errors.ts";
import { exitGuard, stopStatus } from "./exit-guard.ts";
import type { Io } from "./io.ts";
import { VERSION_LINE } from "./version.ts";

/** Options whose values must stay strings (cac turns "007" into 7). */
const STRING_OPTIONS: Record<string, string[]> = {
  nick: ["-n", "--nick"],
  group: ["-g", "--group"],
  encoding: ["-e", "--encoding"],
  passphraseFile: ["--passphrase-file"],
  log: ["--log"],
  source: ["--source"],
};

/** Options that may be repeated: every value is kept, in order (`-i eth0 -i eth1`). */
const REPEATED_OPTIONS: Record<string, string[]> = {
  interface: ["-i", "--interface"],
};

/** Options taking a number: a negative value after them is their value, not a flag. */
const NUMERIC_OPTIONS: Record<string, string> = {
  "-p": "--port",
  "--port": "--port",
  "--ttl": "--ttl",
  "--count": "--count",
  "--timeout": "--timeout",
  "--history": "--history",
  "--heartbeat": "--heartbeat",
};

/**
 * argv with `--ttl -1` joined into `--ttl=-1`: cac would read `-1` as a flag ("Unknown
 * option -1"); joined, the value reaches the option's own check, which says what is wrong.
 */
export function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const long = NUMERIC_OPTIONS[a];
    const next = args[i + 1];
    if (long !== undefined && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${long}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The options each command's help lists (long names); the room's join lists them all. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  setup: ["--group", "--port", "--encoding", "--interface", "--ttl", "--nick", "--passphrase-file"],
  doctor: ["--group", "--port", "--interface", "--ttl", "--source", "--timeout", "--json"],
  replay: ["--json"],
  completion: [],
};

/** An option's description where a command reads it differently from joining. */
const COMMAND_OPTION_TEXT: Record<string, Record<string, string>> = {
  doctor: {
    "--json": "Print the report as JSON",
    "--timeout": "Listen for the room that long (default 3)",
  },
  replay: { "--json": "Print the transcript's events as JSON lines" },
};

/** Help text width: every line of --help fits a classic terminal. */
export const HELP_WIDTH = 80;

/** `text` broken at spaces into lines of at most `width` characters. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** Two columns (name, description), the description wrapped to fit HELP_WIDTH. */
export function helpColumns(rows: readonly [string, string][]): string {
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  const indent = 2 + width + 2;
  return rows
    .map(([name, text]) =>
      wrapWords(text, HELP_WIDTH - indent)
        .map((l, i) => (i === 0 ? `  ${name.padEnd(width)}  ${l}` : `${" ".repeat(indent)}${l}`))
        .join("\n"),
    )
    .join("\n");
}

/** The long name of a cac option (`-g, --group <addr>` → `--group`). */
function longName(rawName: string): string {
  return rawName.match(/--[\w-]+/)?.[0] ?? rawName;
}

/** The last value given for one of `names` in argv, exactly as typed. */
export function rawOptionValue(
  args: readonly string[],
  names: readonly string[],
): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") break;
    for (const n of names) {
      if (a === n && i + 1 < args.length) value = args[i + 1];
      else if (a.startsWith(`${n}=`)) value = a.slice(n.length + 1);
    }
  }
  return value;
}

/** Every value given for one of `names` in argv, exactly as typed, in order. */
export function rawOptionValues(args: readonly string[], names: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") break;
    for (const n of names) {
      if (a === n && i + 1 < args.length) values.push(args[i + 1] as string);
      else if (a.startsWith(`${n}=`)) values.push(a.slice(n.length + 1));
    }
  }
  return values;
}

export function buildCli() {
  const cli = cac("mcchat");
  cli
    .option(
      "-g, --group <addr>",
      "Multicast group, IPv4 or IPv6 (default 239.1.100.1; e.g. ff15::1)",
    )
    .option("-p, --port <port>", "UDP port (default 25000)")
    .option(
      "-e, --encoding <name>",
      "Text encoding of legacy text: auto (default: UTF-8 when valid, else GB18030; copies to classic programs in GBK once they are heard using it), utf8, gbk, gb18030, big5, shift_jis, euc-kr, ...",
    )
    .option(
      "-i, --interface <name|ip|all>",
      "Interface to join; repeat for several, all = every multicast one; sends on the first (default: the system's)",
    )
    .option("--ttl <n>", "Multicast TTL, 0-255 (default 1: this subnet only; 0: this host only)")
    .option("--no-loopback", "Do not receive this host's own datagrams")
    .option("--raw", "Legacy wire format: each message one plain-text datagram")
    .option(
      "--legacy",
      "The room has classic (legacy) programs: also send my messages as plain text to them",
    )
    .option("--listen", "Receive only, never send")
    .option("--json", "Print received messages as JSON lines")
    .option("--count <n>", "Exit 0 after n messages have been received and stdout has taken them")
    .option("--timeout <seconds>", "Exit after that long (status 1 if --count was not reached)")
    .option("-n, --nick <name>", "Nickname (default: login name)")
    .option("--no-bell", "No terminal bell when a line mentions my nick")
    .option("-y, --yes", "Never prompt: use flags, then saved config, then defaults")
    .option("--history <n>", "Ask the room for the last n messages on joining (chat room: 20)")
    .option(
      "--stats",
      "Print counters (sent, received, repaired, NACKs, lost...) on stderr at exit",
    )
    .option(
      "--passphrase-file <file>",
      `Private (encrypted) room: read the passphrase from this file (or set ${PASSPHRASE_ENV}; never on the command line)`,
    )
    .option(
      "--allow-plaintext",
      "Encrypted room: also show legacy plain text, marked as unauthenticated",
    )
    .option(
      "--heartbeat <ms>",
      "Ambient heartbeat interval; silent 3 intervals = gone (default 2000)",
    )
    .option("--no-paste-confirm", "Chat room: send a multi-line paste without asking first")
    .option("--source <addr>", "Source-specific multicast: hear only this sender")
    .option("--log <file>", "Append every event to FILE as a JSON line (mode 0600)");
  cli.option("-v, --version", "Print the version");
  // `mcchat --help` is the default command's help: the usage text goes there.
  const usage =
    "[options]\n  $ mcchat <command> [options]\n  $ mcchat help [command]\n\n  A text conference over IP multicast. On a terminal: a chat room. With stdin\n  piped: each input line is one message. Received messages go to stdout.";
  cli.usage(usage);
  cli
    .command("", "Join the room (pipe lines in to send them; received messages go to stdout)")
    .usage(usage);
  cli.command("setup", "Run the setup wizard and save the answers");
  cli.command("doctor", "Check this host's multicast set-up, with fixes");
  cli.command("replay <file>", "Print a transcript written by --log as the room showed it");
  cli.command("completion <shell>", "Print a shell completion script (bash, zsh or fish)");
  cli.help((sections) => {
    const matched = cli.matchedCommand;
    const command = matched?.name ?? "";
    // A named command's help says what it does under its usage line.
    const about: { title?: string; body: string }[] =
      matched && command !== ""
        ? [
            {
              body: wrapWords(matched.description, HELP_WIDTH - 2)
                .map((l) => `  ${l}`)
                .join("\n"),
            },
          ]
        : [];
    return sections
      .flatMap((s) => (s.title === "Usage" ? [s, ...about] : [s]))
      .filter((s) => !s.title?.startsWith("For more info"))
      .map((s) => (s.title === "Commands" ? { ...s, body: commandList(cli) } : s))
      .map((s) => (s.title === "Options" ? { ...s, body: optionList(cli, command) } : s))
      .map((s) => ({ ...s, body: s.body.replace(/ +$/gm, "") }));
  });
  return cli;
}

/** --help's Commands section: the named commands (joining the room is the usage line). */
function commandList(cli: ReturnType<typeof cac>): string {
  const named = cli.commands.filter((c) => c.name !== "");
  return helpColumns(named.map((c) => [c.rawName, c.description]));
}

/** --help's Options section: the options `command` reads, then --help (and --version). */
function optionList(cli: ReturnType<typeof cac>, command: string): string {
  const only = COMMAND_OPTIONS[command];
  const shown = cli.globalCommand.options.filter((o) => {
    const name = longName(o.rawName);
    if (name === "--help") return true;
    if (name === "--version") return command === "";
    return only === undefined || only.includes(name);
  });
  const text = COMMAND_OPTION_TEXT[command] ?? {};
  return helpColumns(shown.map((o) => [o.rawName, text[longName(o.rawName)] ?? o.description]));
}

/** Every option's spellings (`-g`, `--group`, `--no-loopback` …), for "did you mean". */
function optionNames(cli: ReturnType<typeof cac>): string[] {
  return cli.globalCommand.options.flatMap((o) => o.rawName.match(/--[\w-]+/g) ?? []);
}

/** What the command line asks for, once cac has accepted it. */
export type Command =
  | { name: "help" } // printed while parsing
  | { name: "version" }
  | { name: "none" } // no command matched: nothing to do
  | { name: "join" | "setup" | "doctor"; options: RawOptions }
  | { name: "replay"; file: string; options: RawOptions }
  | { name: "completion"; shell: string };

/**
 * Parse argv (nothing else is loaded or touched: no config, no network, no standard
 * streams). --help is printed here, by cac (console.info). Throws on bad usage: a
 * UserError, or cac's CACError for an unknown option or a missing value.
 */
export function parseCommand(argv: readonly string[]): Command {
  refusePassphraseArgument(argv.slice(2));
  const cli = buildCli();
  const args = helpCommand(cli, joinNegativeValues(argv.slice(2)));
  let parsed: ReturnType<typeof cli.parse>;
  try {
    parsed = cli.parse([...argv.slice(0, 2), ...args], { run: false });
  } catch (err) {
    throw withSuggestion(err, cli);
  }
  if (parsed.options.help) return { name: "help" };
  if (parsed.options.version) return { name: "version" };
  const raw: RawOptions = { ...parsed.options };
  // cac sets bell: true unless --no-bell: only the flag given may override a saved "bell".
  if (!args.includes("--no-bell")) delete raw.bell;
  for (const [key, names] of Object.entries(STRING_OPTIONS)) {
    const v = rawOptionValue(args, names);
    if (v !== undefined) (raw as Record<string, unknown>)[key] = v;
  }
  for (const [key, names] of Object.entries(REPEATED_OPTIONS)) {
    const v = rawOptionValues(args, names);
    if (v.length > 0) (raw as Record<string, unknown>)[key] = v.length === 1 ? v[0] : v;
  }
  if (parsed.args.length > 0 && cli.matchedCommandName === undefined) {
    const typed = String(parsed.args[0]);
    const near = didYouMean(typed, commandNames(cli));
    throw new UserError(
      near !== undefined
        ? `unknown command "${typed}" (did you mean ${near}?)`
        : `unexpected argument "${typed}" (see mcchat --help)`,
    );
  }
  // Let cac reject unknown options (then it runs no action); the action only says which.
  let command: Command = { name: "none" };
  const [joinCmd, setupCmd, doctorCmd, replayCmd, completionCmd] = cli.commands;
  joinCmd?.action(() => {
    command = { name: "join", options: raw };
  });
  setupCmd?.action(() => {
    command = { name: "setup", options: raw };
  });
  doctorCmd?.action(() => {
    command = { name: "doctor", options: raw };
  });
  replayCmd?.action((file: unknown) => {
    command = { name: "replay", file: String(file), options: raw };
  });
  completionCmd?.action((shell: unknown) => {
    command = { name: "completion", shell: String(shell) };
  });
  try {
    cli.runMatchedCommand();
  } catch (err) {
    throw withSuggestion(err, cli);
  }
  return command;
}

/** The named commands, and `help`. */
function commandNames(cli: ReturnType<typeof cac>): string[] {
  return [...cli.commands.filter((c) => c.name !== "").map((c) => c.name), "help"];
}

/** `mcchat help [command]` as `mcchat [command] --help`; an unknown command is refused. */
function helpCommand(cli: ReturnType<typeof cac>, args: string[]): string[] {
  if (args[0] !== "help") return args;
  const topic = args[1];
  if (topic === undefined || topic.startsWith("-")) return ["--help"];
  if (commandNames(cli).includes(topic)) return topic === "help" ? ["--help"] : [topic, "--help"];
  const near = didYouMean(topic, commandNames(cli));
  throw new UserError(
    `no command "${topic}"${near !== undefined ? ` (did you mean ${near}?)` : " (see mcchat --help)"}`,
  );
}

/** cac's "Unknown option `--histroy`" as a UserError naming the closest option. */
function withSuggestion(err: unknown, cli: ReturnType<typeof cac>): unknown {
  const e = err as Error;
  const typed =
    e?.name === "CACError" ? /^Unknown option `([^`]+)`/.exec(e.message)?.[1] : undefined;
  if (typed === undefined) return err;
  const near = didYouMean(typed.replace(/=.*$/, ""), optionNames(cli));
  return new UserError(
    near !== undefined
      ? `unknown option ${typed} (did you mean ${near}?)`
      : `unknown option ${typed} (see mcchat --help)`,
  );
}

/** Run a parsed command; resolves with the exit status. */
export async function execute(command: Command, io: Io, signal: AbortSignal): Promise<number> {
  switch (command.name) {
    case "help":
    case "none":
      return 0;
    case "version":
      io.stdout.write(`${VERSION_LINE}\n`);
      return 0;
    case "join":
      return await (await import("./join.ts")).runJoin(command.options, io, signal);
    case "setup":
      return await (await import("./join.ts")).runSetup(command.options, io, signal);
    case "doctor":
      return await (await import("./doctor/doctor.ts")).runDoctor(command.options, io, signal);
    case "replay":
      return await (await import("./ui/replay.ts")).runReplay(command.file, command.options, io);
    case "completion":
      io.stdout.write(
        (await import("./ui/completion.ts")).completionScript(command.shell, buildCli()),
      );
      return 0;
  }
}

/** Parse argv and run; resolves with the exit status. Throws UserError on bad usage. */
export async function run(argv: readonly string[], io: Io, signal: AbortSignal): Promise<number> {
  return await execute(parseCommand(argv), io, signal);
}

/** How long main waits for stdout to take its last bytes. */
const FINAL_DRAIN_MS = 1000;

/** Resolves after one write callback of `stream` or `ms`, whichever is first. */
function drained(stream: NodeJS.WritableStream, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      stream.write("", done);
    } catch {
      done();
    }
  });
}

/**
 * The process entry point: the one place that exits. Every way to stop ends the
 * process within about a second (see exitGuard), saying BYE where joined: SIGINT,
 * SIGTERM, SIGHUP, a terminal that went away (stdin closed or failing with EIO) and
 * stdout's reader going away (EPIPE: exit 0, nothing on stderr, unless output the pipe had
 * received was lost by it: then the pipe says how much, status 1; see ui/pipe.ts). A normal
 * end of the pipe waits for stdout however slow its reader (ui/tracked-writer.ts); the final
 * drain below is only for what was written after it (the chat's last lines).
 */
export async function main(argv: readonly string[] = process.argv): Promise<never> {
  const guard = exitGuard((code) => process.exit(code));
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => guard.stop(sig));
  }
  // --help, --version and bad usage answer through console.*: the first touch of
  // process.stdin/stdout/stderr costs more than all the rest of this path.
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    process.exit(report(err, CONSOLE_STDERR));
  }
  if (command.name === "help" || command.name === "none") process.exit(0);
  if (command.name === "version") {
    console.log(VERSION_LINE);
    process.exit(0);
  }
  // Without an 'error' listener Bun dies on EPIPE with a stack trace.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    guard.stop(err.code === "EPIPE" ? "epipe" : "hangup");
  });
  process.stderr.on("error", () => {});
  if (process.stdin.isTTY) {
    // A hung-up terminal: stdin closes (without an EOF) or fails with EIO.
    process.stdin.on("close", () => guard.stop("hangup"));
    process.stdin.on("error", () => guard.stop("hangup"));
  }
  // Once stopping, errors from a dead terminal or pipe (clack restoring raw mode on a
  // hung-up tty…) are expected: the exit goes on. Before that, they are bugs.
  const crash = (err: unknown) => {
    if (guard.reason !== undefined) return;
    process.exit(report(err, process.stderr));
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  const io: Io = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  let code: number;
  try {
    code = await execute(command, io, guard.signal);
  } catch (err) {
    // A wizard (or any step) cut short by a stop request: its status, and no message.
    const cutShort = err instanceof CancelledError || !(err instanceof UserError);
    code =
      guard.reason !== undefined && cutShort ? stopStatus(guard.reason) : report(err, io.stderr);
  }
  guard.settle(code);
  // Let stdout drain before exiting (pipes are asynchronous), but not forever.
  await drained(process.stdout, FINAL_DRAIN_MS);
  process.exit(code);
}

/** Where report() writes. */
export interface LineSink {
  write(text: string): unknown;
}

/** stderr without process.stderr (console.error adds the newline back). */
const CONSOLE_STDERR: LineSink = {
  write: (text) => console.error("%s", text.replace(/\n$/, "")),
};

/** One line for a user error, a stack trace only for a bug. */
export function report(err: unknown, stderr: LineSink): number {
  if (err instanceof UserError) {
    if (err.message && err.exitCode !== 130) stderr.write(`mcchat: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  if (e?.name === "CACError") {
    stderr.write(`mcchat: ${e.message.replace(/`/g, "")} (see mcchat --help)\n`);
    return 2;
  }
  stderr.write(`mcchat: internal error: ${e?.stack ?? String(err)}\n`);
  return 70;
}
