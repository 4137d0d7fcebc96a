import type { Readable, Writable } from "node:stream";
import { cac } from "cac";
import pkg from "../package.json" with { type: "json" };
import {
  DEFAULTS,
  type NetInterface,
  parseIntIn,
  type RawOptions,
  validateOptions,
} from "./config/options.ts";
import { configPath, loadConfig, type SavedConfig, saveConfig } from "./config/store.ts";
import { UserError } from "./errors.ts";
import { defaultNick, listInterfaces } from "./net/interfaces.ts";
import { openUdpTransport } from "./net/udp-transport.ts";
import { Session, type SessionStats } from "./session/session.ts";
import { makeColors } from "./ui/colors.ts";
import { formatJson, formatPlain } from "./ui/format.ts";
import { runPipe } from "./ui/pipe.ts";

/** Receive buffer to ask for: a burst of a few thousand datagrams fits. */
const RECV_BUFFER = 8 * 1024 * 1024;

/** Options whose values must stay strings (cac turns "007" into 7). */
const STRING_OPTIONS: Record<string, string[]> = {
  nick: ["-n", "--nick"],
  group: ["-g", "--group"],
  interface: ["-i", "--interface"],
  encoding: ["-e", "--encoding"],
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

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

function buildCli() {
  const cli = cac("mcchat");
  cli
    .option("-g, --group <addr>", "Multicast group (default 239.1.100.1)")
    .option("-p, --port <port>", "UDP port (default 25000)")
    .option(
      "-e, --encoding <name>",
      'Text encoding on the wire: utf8 (default), gbk, gb18030, big5, shift_jis, euc-kr, ... ; "auto" on receive = UTF-8 when valid, else GB18030',
    )
    .option("-i, --interface <name|ip>", "Interface to join and send on (default: the system's)")
    .option("--ttl <n>", "Multicast TTL, 0-255 (default 1: this subnet only)")
    .option("--no-loopback", "Do not receive this host's own datagrams")
    .option("--raw", "Legacy wire format: each message one plain-text datagram")
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
      "--heartbeat <ms>",
      "Ambient heartbeat interval; silent 3 intervals = gone (default 2000)",
    );
  cli.option("-v, --version", "Print the version");
  cli.usage(
    "[options]\n\n  A text conference over IP multicast. On a terminal: a chat room. With stdin piped:\n  each input line is one message. Received messages go to stdout.",
  );
  cli.command("", "Join the room (pipe lines in to send them; received messages go to stdout)");
  cli.command("setup", "Run the setup wizard and save the answers");
  cli.help((sections) =>
    sections
      .filter((s) => !s.title?.startsWith("Commands") && !s.title?.startsWith("For more info"))
      .map((s) => ({ ...s, body: s.body.replace(" (default: true)", "").replace(/ +$/gm, "") })),
  );
  return cli;
}

/** Flags, then saved config, then defaults; the wizard (on a terminal) can change them. */
async function settle(
  flags: RawOptions,
  io: Io,
  wizard: boolean,
): Promise<{ raw: RawOptions; interfaces: NetInterface[] }> {
  const interfaces = listInterfaces();
  const path = configPath(io.env);
  const saved = await loadConfig(path);
  const raw: RawOptions = { ...saved, ...definedOnly(flags) };
  if (!wizard) return { raw, interfaces };
  const { runWizard } = await import("./ui/wizard.ts");
  const answers = await runWizard({
    defaults: {
      group: String(raw.group ?? DEFAULTS.group),
      port: Number(raw.port ?? DEFAULTS.port),
      encoding: String(raw.encoding ?? DEFAULTS.encoding),
      nick: String(raw.nick ?? defaultNick()),
      interface: raw.interface === undefined ? undefined : String(raw.interface),
      ttl: Number(raw.ttl ?? DEFAULTS.ttl),
    },
    interfaces: interfaces.filter((i) => i.family === "IPv4"),
    input: io.stdin as unknown as Readable,
    output: io.stdout as unknown as Writable,
  });
  // Save the interface by name: addresses change (DHCP), names rarely do.
  const ifName = interfaces.find((i) => i.address === answers.interface)?.name;
  const toSave: SavedConfig = { ...answers, interface: ifName ?? answers.interface };
  await saveConfig(path, toSave);
  return { raw: { ...raw, ...answers }, interfaces };
}

function definedOnly(o: RawOptions): RawOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as RawOptions;
}

async function join(flags: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const { raw, interfaces } = await settle(
    flags,
    io,
    interactive && !flags.yes && flags.group === undefined,
  );
  const opts = validateOptions(raw, { interfaces, defaultNick: defaultNick() });
  const chat = interactive && !opts.listen;
  const history =
    flags.history !== undefined ? parseIntIn(flags.history, "history", 0, 1000) : chat ? 20 : 0;
  const heartbeatMs =
    flags.heartbeat !== undefined
      ? parseIntIn(flags.heartbeat, "heartbeat", 50, 600000)
      : undefined;
  const transport = await openUdpTransport({
    group: opts.group,
    port: opts.port,
    interfaceAddress: opts.iface?.address,
    ttl: opts.ttl,
    loopback: opts.loopback,
    recvBufferSize: RECV_BUFFER,
    localAddresses: ["0.0.0.0", ...interfaces.map((i) => i.address)],
  });
  transport.onError((err) => io.stderr.write(`mcchat: socket error: ${err.message}\n`));
  const small = recvBufferWarning(transport.recvBufferSize, RECV_BUFFER);
  if (small) io.stderr.write(`mcchat: warning: ${small}\n`);
  const session = new Session({
    transport,
    encoding: opts.encoding,
    raw: opts.raw,
    listen: opts.listen,
    nick: opts.nick,
    history,
    heartbeatMs,
  });
  await session.start();
  const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
  const where = opts.iface ? ` on ${opts.iface.name} (${opts.iface.address})` : "";
  const joined = `joined ${opts.group}:${opts.port}${where}, ${opts.raw ? "legacy text" : "framed"}, encoding ${opts.encoding}`;
  let code: number;
  if (chat) {
    const { runChat } = await import("./ui/chat.ts");
    code = await runChat({
      session,
      input: io.stdin as unknown as Readable,
      output: io.stdout as unknown as Writable,
      colors,
      signal,
      header: [colors.dim(`mcchat ${pkg.version}: ${joined} as ${opts.nick}. /help for commands.`)],
    });
  } else {
    if (io.stderr.isTTY) io.stderr.write(`mcchat: ${joined}\n`);
    code = await runPipe({
      session,
      input: opts.listen ? null : (io.stdin as unknown as Readable),
      output: io.stdout as unknown as Writable,
      errors: io.stderr as unknown as Writable,
      render: opts.json ? (e) => [formatJson(e)] : (e) => formatPlain(e, colors),
      count: opts.count,
      timeoutMs: opts.timeoutSeconds !== undefined ? opts.timeoutSeconds * 1000 : undefined,
      signal,
      stayAfterEof: io.stdin.isTTY === true,
    });
  }
  if (flags.stats) io.stderr.write(`${formatStats(session.stats)}\n`);
  return code;
}

/** `mcchat setup`: the wizard alone. */
async function setup(flags: RawOptions, io: Io): Promise<number> {
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
    throw new UserError("setup needs a terminal (stdin and stdout)");
  }
  await settle(flags, io, true);
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

export function formatStats(s: SessionStats): string {
  const kib = Math.round(s.recvBufferBytes / 1024);
  return (
    `mcchat: stats: sent ${s.sent}, received ${s.received}, repaired ${s.repairsReceived} ` +
    `(repairs sent ${s.repairsSent}), NACKs sent ${s.nacksSent} / heard ${s.nacksHeard} / ` +
    `suppressed ${s.nacksSuppressed}, duplicates dropped ${s.duplicates}, lost ${s.lost}, ` +
    `malformed ${s.malformed}, receive buffer ${kib} KiB`
  );
}

/** Parse argv and run; resolves with the exit status. Throws UserError on bad usage. */
export async function run(argv: readonly string[], io: Io, signal: AbortSignal): Promise<number> {
  const cli = buildCli();
  const parsed = cli.parse([...argv], { run: false });
  if (parsed.options.help) return 0;
  if (parsed.options.version) {
    io.stdout.write(`mcchat ${pkg.version}\n`);
    return 0;
  }
  const args = argv.slice(2);
  const raw: RawOptions = { ...parsed.options };
  for (const [key, names] of Object.entries(STRING_OPTIONS)) {
    const v = rawOptionValue(args, names);
    if (v !== undefined) (raw as Record<string, unknown>)[key] = v;
  }
  if (parsed.args.length > 0 && cli.matchedCommandName === undefined) {
    throw new UserError(`unexpected argument "${parsed.args[0]}" (see mcchat --help)`);
  }
  // Let cac reject unknown options (and run no action).
  let result: number | undefined;
  cli.commands[0]?.action(async () => {
    result = await join(raw, io, signal);
  });
  cli.commands[1]?.action(async () => {
    result = await setup(raw, io);
  });
  await cli.runMatchedCommand();
  return result ?? 0;
}

/** The process entry point: the one place that exits. */
export async function main(argv: readonly string[] = process.argv): Promise<never> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);
  const io: Io = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  let code: number;
  try {
    code = await run(argv, io, controller.signal);
  } catch (err) {
    code = report(err, io.stderr);
  }
  // Let stdout drain before exiting (pipes are asynchronous).
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(code);
}

/** One line for a user error, a stack trace only for a bug. */
export function report(err: unknown, stderr: NodeJS.WritableStream): number {
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
