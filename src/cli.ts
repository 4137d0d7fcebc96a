/**
 * The command line. Start-up is on the clock (`mcchat --version` should cost little more
 * than a compiled hello-world): the arguments are parsed with only cac and the small
 * modules below loaded; everything else (config, iconv-lite tables, network, session, UI)
 * is imported by the command that needs it. --help, --version and the usage errors
 * cac finds answer without touching process.stdin/stdout/stderr either: in Bun the first
 * access to one of them costs ~9 ms (console.* and Bun.write do not).
 */
import type { Readable, Writable } from "node:stream";
import { cac } from "cac";
import pkg from "../package.json" with { type: "json" };
import type { NetInterface, RawOptions } from "./config/options.ts";
import { PASSPHRASE_ENV, refusePassphraseArgument } from "./config/passphrase.ts";
import { CancelledError, UserError } from "./errors.ts";
import type { SessionStats } from "./session/session.ts";
import { VERSION_LINE } from "./version.ts";

/** Receive buffer to ask for: a burst of a few thousand datagrams fits. */
const RECV_BUFFER = 8 * 1024 * 1024;

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

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
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
      'Text encoding on the wire: utf8 (default), gbk, gb18030, big5, shift_jis, euc-kr, ... ; "auto" on receive = UTF-8 when valid, else GB18030',
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
    .option("--count <n>", "Exit 0 after n messages have been received")
    .option("--timeout <seconds>", "Exit after that long (status 1 if --count was not reached)")
    .option("-n, --nick <name>", "Nickname (default: login name)")
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
    .option("--source <addr>", "Source-specific multicast: hear only this sender")
    .option("--log <file>", "Append every event to FILE as a JSON line (mode 0600)");
  cli.option("-v, --version", "Print the version");
  // `mcchat --help` is the default command's help: the usage text goes there.
  const usage =
    "[options]\n  $ mcchat <command> [options]\n\n  A text conference over IP multicast. On a terminal: a chat room. With stdin piped:\n  each input line is one message. Received messages go to stdout.";
  cli.usage(usage);
  cli
    .command("", "Join the room (pipe lines in to send them; received messages go to stdout)")
    .usage(usage);
  cli.command("setup", "Run the setup wizard and save the answers");
  cli.command("doctor", "Check this host's multicast set-up for the room, with fixes");
  cli.command("replay <file>", "Print a transcript written by --log as the room showed it");
  cli.command("completion <shell>", "Print a shell completion script (bash, zsh or fish)");
  cli.help((sections) =>
    sections
      .filter((s) => !s.title?.startsWith("For more info"))
      .map((s) => (s.title === "Commands" ? { ...s, body: commandList(cli) } : s))
      .map((s) => ({ ...s, body: s.body.replace(" (default: true)", "").replace(/ +$/gm, "") })),
  );
  return cli;
}

/** --help's Commands section: the named commands (joining the room is the usage line). */
function commandList(cli: ReturnType<typeof cac>): string {
  const named = cli.commands.filter((c) => c.name !== "");
  const width = Math.max(...named.map((c) => c.rawName.length));
  return named.map((c) => `  ${c.rawName.padEnd(width)}  ${c.description}`).join("\n");
}

/**
 * Flags, then saved config, then defaults; the wizard (on a terminal) can change them.
 * The passphrase (passphrase.ts): --passphrase-file, else MCCHAT_PASSPHRASE, else the
 * wizard's answer, else the saved one.
 */
async function settle(
  flags: RawOptions,
  io: Io,
  wizard: boolean,
  signal: AbortSignal | undefined,
): Promise<{ raw: RawOptions; interfaces: NetInterface[] }> {
  const [
    { DEFAULTS },
    { choosePassphrase, explicitPassphrase },
    store,
    { listInterfaces },
    { defaultNick },
  ] = await Promise.all([
    import("./config/options.ts"),
    import("./config/passphrase.ts"),
    import("./config/store.ts"),
    import("./net/interfaces.ts"),
    import("./config/default-nick.ts"),
  ]);
  const { configPath, loadConfig, saveConfig } = store;
  const interfaces = listInterfaces();
  const path = configPath(io.env);
  const explicit = await explicitPassphrase(flags.passphraseFile, io.env, (text) =>
    io.stderr.write(`mcchat: warning: ${text}\n`),
  );
  const { passphrase: savedPassphrase, ...saved } = await loadConfig(path);
  const raw: RawOptions = { ...saved, ...definedOnly(flags) };
  // --ttl 0 keeps the room on this host: a saved interface does not apply to it.
  if (flags.interface === undefined && String(flags.ttl).trim() === "0") delete raw.interface;
  if (!wizard) {
    const chosen = choosePassphrase({ explicit, saved: savedPassphrase });
    return { raw: { ...raw, roomPassphrase: chosen }, interfaces };
  }
  const { runWizard } = await import("./ui/wizard.ts");
  const askPassphrase = explicit === undefined;
  const answers = await runWizard({
    defaults: {
      group: String(raw.group ?? DEFAULTS.group),
      port: Number(raw.port ?? DEFAULTS.port),
      encoding: String(raw.encoding ?? DEFAULTS.encoding),
      legacy: raw.legacy === true,
      nick: String(raw.nick ?? defaultNick()),
      interface: raw.interface === undefined ? undefined : String(raw.interface),
      ttl: Number(raw.ttl ?? DEFAULTS.ttl),
      passphrase: savedPassphrase,
    },
    interfaces,
    source: raw.source === undefined ? undefined : String(raw.source),
    input: io.stdin as unknown as Readable,
    output: io.stdout as unknown as Writable,
    signal,
    askPassphrase,
  });
  const { passphrase: answered, savePassphrase, ...rest } = answers;
  // Save the interface by name: addresses change (DHCP), names rarely do.
  const ifName = interfaces.find((i) => i.address === rest.interface)?.name;
  const toSave: import("./config/store.ts").SavedConfig = {
    ...rest,
    interface: ifName ?? rest.interface,
  };
  // Saved only when asked to; an explicit passphrase (not asked for) leaves the saved one be.
  const keep = askPassphrase ? (savePassphrase ? answered : undefined) : savedPassphrase;
  if (keep !== undefined) toSave.passphrase = keep;
  await saveConfig(path, toSave);
  const chosen = choosePassphrase({
    explicit,
    wizard: { asked: askPassphrase, answer: answered },
    saved: savedPassphrase,
  });
  // The wizard's interface answer (none = the system's choice) replaces the saved one.
  return {
    raw: { ...raw, ...rest, interface: rest.interface, roomPassphrase: chosen },
    interfaces,
  };
}

function definedOnly(o: RawOptions): RawOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as RawOptions;
}

async function join(flags: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  const [{ parseIntIn, validateOptions }, { defaultNick }] = await Promise.all([
    import("./config/options.ts"),
    import("./config/default-nick.ts"),
  ]);
  const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const { raw, interfaces } = await settle(
    flags,
    io,
    interactive && !flags.yes && flags.group === undefined,
    signal,
  );
  const opts = validateOptions(raw, { interfaces, defaultNick: defaultNick() });
  const chat = interactive && !opts.listen;
  const history =
    flags.history !== undefined ? parseIntIn(flags.history, "history", 0, 1000) : chat ? 20 : 0;
  const heartbeatMs =
    flags.heartbeat !== undefined
      ? parseIntIn(flags.heartbeat, "heartbeat", 50, 600000)
      : undefined;
  // --log: opened before the socket (a path that cannot be written is refused up front).
  const log = await openLog(flags, io);
  // Derived before the socket opens: nothing to close if it fails. ~0.3 s (scrypt).
  const roomKey = opts.passphrase ? await roomKeyFor(opts.passphrase.value, opts) : undefined;
  // Only what this run uses: no chat UI (readline) in a pipe, no wizard, no sealing code in
  // an open room. The UI too is loaded before the session starts: an event (a member
  // joining) may come as soon as it has, and must find its listener.
  const [
    { openUdpTransport, roomTransportOptions },
    { createSession },
    { makeColors },
    { describeSource },
  ] = await Promise.all([
    import("./net/udp-transport.ts"),
    import("./session/session.ts"),
    import("./ui/colors.ts"),
    import("./config/passphrase.ts"),
  ]);
  const ui = chat
    ? { kind: "chat" as const, ...(await import("./ui/chat.ts")) }
    : {
        kind: "pipe" as const,
        ...(await import("./ui/pipe.ts")),
        ...(await import("./ui/format.ts")),
      };
  const udp = await openUdpTransport({
    ...roomTransportOptions(opts, interfaces),
    recvBufferSize: RECV_BUFFER,
  });
  udp.onError((err) => io.stderr.write(`mcchat: socket error: ${err.message}\n`));
  const transport: import("./net/transport.ts").Transport = roomKey
    ? (await import("./net/sealed-transport.ts")).sealTransport(udp, {
        roomKey,
        allowPlaintext: opts.allowPlaintext,
      })
    : udp;
  const small = recvBufferWarning(udp.recvBufferSize, RECV_BUFFER);
  if (small) io.stderr.write(`mcchat: warning: ${small}\n`);
  const session = createSession({
    transport,
    encoding: opts.encoding,
    raw: opts.raw,
    legacy: opts.legacy,
    listen: opts.listen,
    nick: opts.nick,
    history,
    heartbeatMs,
  });
  // The log listens before the session starts (it is the listener that gets the early
  // events); the UI gets every event through it.
  const events = log?.tap(session) ?? session;
  await session.start();
  const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
  const where = joinedWhere(opts, udp);
  const kind = opts.raw ? "legacy text" : opts.legacy ? "framed and legacy text" : "framed";
  const sealed = opts.passphrase
    ? `, encrypted (passphrase ${describeSource(opts.passphrase.source)})`
    : "";
  const joined = `joined ${where}, ${kind}${sealed}, encoding ${opts.encoding}`;
  let code: number;
  if (ui.kind === "chat") {
    code = await ui.runChat({
      session: events,
      input: io.stdin as unknown as Readable,
      output: io.stdout as unknown as Writable,
      colors,
      signal,
      header: [colors.dim(`mcchat ${pkg.version}: ${joined} as ${opts.nick}. /help for commands.`)],
    });
  } else {
    if (io.stderr.isTTY) io.stderr.write(`mcchat: ${joined}\n`);
    const { formatJson, formatPlain } = ui;
    code = await ui.runPipe({
      session: events,
      input: opts.listen ? null : (io.stdin as unknown as Readable),
      output: io.stdout as unknown as Writable,
      errors: io.stderr as unknown as Writable,
      render: opts.json ? (e) => [formatJson(e)] : (e) => formatPlain(e, colors),
      count: opts.count,
      timeoutMs: opts.timeoutSeconds !== undefined ? opts.timeoutSeconds * 1000 : undefined,
      signal,
      stayAfterEof: io.stdin.isTTY === true,
      encoding: opts.encoding,
    });
  }
  if (flags.stats) {
    io.stderr.write(`${formatStats(session.stats, { encrypted: roomKey !== undefined })}\n`);
  }
  log?.close();
  return code;
}

/**
 * The room and where it is joined, for the joined line: "239.1.100.1:25000 on eth0
 * (198.18.0.2), eth1 (198.19.0.2), sending on eth0 (198.18.0.2)"; IPv6 groups in brackets;
 * "this host only" for TTL 0; the one sender heard with --source.
 */
export function joinedWhere(
  opts: { group: string; port: number; hostOnly?: boolean; source?: string },
  transport: { joinedOn?: readonly string[]; sendInterface?: string },
): string {
  const room = opts.group.includes(":")
    ? `[${opts.group}]:${opts.port}`
    : `${opts.group}:${opts.port}`;
  const on = transport.joinedOn?.length ? ` on ${transport.joinedOn.join(", ")}` : "";
  const scope = opts.hostOnly ? ", this host only" : "";
  const sending = transport.sendInterface ? `, sending on ${transport.sendInterface}` : "";
  const source = opts.source ? `, hearing only ${opts.source}` : "";
  return `${room}${on}${scope}${sending}${source}`;
}

/**
 * `--log FILE` (ui/transcript.ts, loaded only when asked for): warnings go to stderr
 * until the room is shown, then into the room as warning events.
 */
async function openLog(flags: RawOptions, io: Io) {
  const path = (flags as { log?: unknown }).log;
  if (path === undefined) return undefined;
  if (typeof path !== "string" || path === "") throw new UserError("--log needs a file name");
  const { openTranscript, tapEvents } = await import("./ui/transcript.ts");
  let warn = (text: string): void => {
    io.stderr.write(`mcchat: warning: ${text}\n`);
  };
  const transcript = openTranscript(path, { warn: (text) => warn(text) });
  return {
    tap<S extends Parameters<typeof tapEvents>[0]>(session: S): S {
      const tapped = tapEvents(session, (e) => transcript.write(e));
      warn = (text) => tapped.inject({ type: "warning", time: new Date(), text });
      return tapped.session;
    },
    close: () => transcript.close(),
  };
}

/** The room key for a passphrase (scrypt, ~0.3 s); a failure is one line, not a stack. */
async function roomKeyFor(
  passphrase: string,
  room: { group: string; port: number },
): Promise<Uint8Array> {
  const { deriveRoomKey } = await import("./protocol/sealed.ts");
  try {
    return await deriveRoomKey(passphrase, room.group, room.port);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UserError(`cannot derive the room key from the passphrase: ${why}`, 1);
  }
}

/** `mcchat setup`: the wizard alone. */
async function setup(flags: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
    throw new UserError("setup needs a terminal (stdin and stdout)");
  }
  await settle(flags, io, true, signal);
  const { configPath } = await import("./config/store.ts");
  io.stdout.write(`saved ${configPath(io.env)}\n`);
  return 0;
}

/**
 * A warning when the kernel gave far less receive buffer than asked for (Linux caps it
 * at net.core.rmem_max, then reports twice the usable size), else undefined.
 */
export function recvBufferWarning(given: number, asked: number): string | undefined {
  if (given <= 0 || given >= asked / 2) return undefined;
  return (
    `the kernel gave a ${Math.round(given / 1024)} KiB receive buffer (asked ${Math.round(asked / 1024)} KiB); ` +
    "bursts will need more repairs (raise net.core.rmem_max)"
  );
}

/** The --stats line; an encrypted room adds what its transport dropped. */
export function formatStats(s: SessionStats, room: { encrypted?: boolean } = {}): string {
  const kib = Math.round(s.recvBufferBytes / 1024);
  const sealed = room.encrypted
    ? `, encrypted room: undecryptable ${s.undecryptable}, replayed ${s.replayed}, plaintext dropped ${s.plaintextDropped}`
    : "";
  return (
    `mcchat: stats: sent ${s.sent}, received ${s.received}, repaired ${s.repairsReceived} ` +
    `(repairs sent ${s.repairsSent}), NACKs sent ${s.nacksSent} / heard ${s.nacksHeard} / ` +
    `suppressed ${s.nacksSuppressed}, duplicates dropped ${s.duplicates}, lost ${s.lost}, ` +
    `malformed ${s.malformed}, receive buffer ${kib} KiB, reports sent ${s.reportsSent} / ` +
    `heard ${s.reportsHeard}, window waits ${s.flowWaits}, bridged to legacy ${s.bridged}, ` +
    `spoofed ${s.spoofed}, refused: members ${s.peersRefused} / held ${s.holdRefused} / ` +
    `repairs ${s.repairsRefused} / history ${s.historyRefused}${sealed}`
  );
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
  const parsed = cli.parse([...argv], { run: false });
  if (parsed.options.help) return { name: "help" };
  if (parsed.options.version) return { name: "version" };
  const args = argv.slice(2);
  const raw: RawOptions = { ...parsed.options };
  for (const [key, names] of Object.entries(STRING_OPTIONS)) {
    const v = rawOptionValue(args, names);
    if (v !== undefined) (raw as Record<string, unknown>)[key] = v;
  }
  for (const [key, names] of Object.entries(REPEATED_OPTIONS)) {
    const v = rawOptionValues(args, names);
    if (v.length > 0) (raw as Record<string, unknown>)[key] = v.length === 1 ? v[0] : v;
  }
  if (parsed.args.length > 0 && cli.matchedCommandName === undefined) {
    throw new UserError(`unexpected argument "${parsed.args[0]}" (see mcchat --help)`);
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
  cli.runMatchedCommand();
  return command;
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
      return await join(command.options, io, signal);
    case "setup":
      return await setup(command.options, io, signal);
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

/** Why the process was asked to stop: a signal, the terminal went away, or stdout's reader did. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "hangup" | "epipe";

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** How long the orderly exit after a stop request may take before the process exits anyway. */
export const EXIT_GRACE_MS = 800;
/** How long main waits for stdout to take its last bytes. */
const FINAL_DRAIN_MS = 1000;

/**
 * The exit status for a stop that did not finish in an orderly way (the watchdog, a
 * second signal, a wizard cut short): 128 + the signal number, as a shell reports a
 * process killed by it; a hung-up terminal counts as SIGHUP (129); a reader that went
 * away (EPIPE) is a normal end (0), as for `yes | head -1`.
 */
export function stopStatus(why: StopReason): number {
  if (why === "epipe") return 0;
  if (why === "hangup") return 128 + SIGNAL_NUMBERS.SIGHUP;
  return 128 + SIGNAL_NUMBERS[why];
}

export interface ExitGuard {
  /** Aborted on the first stop request: every part of the program leaves in order. */
  readonly signal: AbortSignal;
  /** The first stop request, if any. */
  readonly reason: StopReason | undefined;
  /**
   * Ask the program to stop. The first request aborts `signal` and arms the watchdog:
   * if the orderly exit has not finished `graceMs` later, the process exits anyway. A
   * second SIGINT or SIGTERM (after any signal) exits at once; a repeated SIGHUP does not
   * (one hangup can deliver it more than once), nor does a hangup or EPIPE noticed later.
   */
  stop(why: StopReason): void;
  /** The orderly exit has its status: the watchdog, if it fires now, uses it. */
  settle(code: number): void;
}

export function exitGuard(exit: (code: number) => void, graceMs = EXIT_GRACE_MS): ExitGuard {
  const controller = new AbortController();
  let reason: StopReason | undefined;
  let lastSignal: StopReason | undefined;
  let settled: number | undefined;
  return {
    signal: controller.signal,
    get reason() {
      return reason;
    },
    stop(why) {
      const isSignal = why.startsWith("SIG");
      if (isSignal && lastSignal !== undefined && !(why === "SIGHUP" && lastSignal === "SIGHUP")) {
        return exit(settled ?? stopStatus(why));
      }
      if (isSignal) lastSignal = why;
      if (reason !== undefined) return;
      reason = why;
      setTimeout(() => exit(settled ?? stopStatus(why)), graceMs);
      controller.abort();
    },
    settle(code) {
      settled = code;
    },
  };
}

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
 * stdout's reader going away (EPIPE: exit 0, nothing on stderr).
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
