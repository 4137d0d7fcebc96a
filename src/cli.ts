import { cac } from "cac";
import pkg from "../package.json" with { type: "json" };
import { type RawOptions, validateOptions } from "./config/options.ts";
import { UserError } from "./errors.ts";
import { defaultNick, listInterfaces } from "./net/interfaces.ts";
import { openUdpTransport } from "./net/udp-transport.ts";
import { Session } from "./session/session.ts";
import { makeColors } from "./ui/colors.ts";
import { formatJson, formatPlain } from "./ui/format.ts";
import { runPipe } from "./ui/pipe.ts";

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
    .option("-y, --yes", "Never prompt: use flags, then saved config, then defaults");
  cli.option("-v, --version", "Print the version");
  cli.usage(
    "[options]\n\n  A text conference over IP multicast. On a terminal: a chat room. With stdin piped:\n  each input line is one message. Received messages go to stdout.",
  );
  cli.command("", "Join the room (pipe lines in to send them; received messages go to stdout)");
  cli.help((sections) =>
    sections
      .filter((s) => !s.title?.startsWith("Commands") && !s.title?.startsWith("For more info"))
      .map((s) => ({ ...s, body: s.body.replace(" (default: true)", "").replace(/ +$/gm, "") })),
  );
  return cli;
}

async function join(raw: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  const interfaces = listInterfaces();
  const opts = validateOptions(raw, { interfaces, defaultNick: defaultNick() });
  const transport = await openUdpTransport({
    group: opts.group,
    port: opts.port,
    interfaceAddress: opts.iface?.address,
    ttl: opts.ttl,
    loopback: opts.loopback,
    recvBufferSize: 8 * 1024 * 1024,
    localAddresses: ["0.0.0.0", ...interfaces.map((i) => i.address)],
  });
  transport.onError((err) => io.stderr.write(`mcchat: socket error: ${err.message}\n`));
  const session = new Session({
    transport,
    encoding: opts.encoding,
    raw: true,
    nick: opts.nick,
  });
  await session.start();
  const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
  if (io.stderr.isTTY) {
    const where = opts.iface ? ` on ${opts.iface.name} (${opts.iface.address})` : "";
    io.stderr.write(
      `mcchat: joined ${opts.group}:${opts.port}${where}, encoding ${opts.encoding}\n`,
    );
  }
  return runPipe({
    session,
    input: opts.listen
      ? null
      : (io.stdin as NodeJS.ReadableStream as import("node:stream").Readable),
    output: io.stdout as unknown as import("node:stream").Writable,
    errors: io.stderr as unknown as import("node:stream").Writable,
    render: opts.json ? (e) => [formatJson(e)] : (e) => formatPlain(e, colors),
    count: opts.count,
    timeoutMs: opts.timeoutSeconds !== undefined ? opts.timeoutSeconds * 1000 : undefined,
    signal,
    stayAfterEof: io.stdin.isTTY === true,
  });
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
  if (parsed.args.length > 0) {
    throw new UserError(`unexpected argument "${parsed.args[0]}" (see mcchat --help)`);
  }
  // Let cac reject unknown options (and run no action).
  let result: number | undefined;
  cli.commands[0]?.action(async () => {
    result = await join(raw, io, signal);
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
