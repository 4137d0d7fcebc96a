/**
 * `mcchat` (join the room) and `mcchat setup`: options settled from flags, the saved config
 * and the wizard; the room built (transport, sealing, session, room controller) and opened,
 * with the transcript (--log) attached first; the chat room or the pipe run as its owner; the
 * joined line and --stats. Loaded by cli.ts only for these commands.
 */
import type { Readable, Writable } from "node:stream";
import pkg from "../package.json" with { type: "json" };
import type { NetInterface, RawOptions } from "./config/options.ts";
import { UserError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { Room } from "./room/room.ts";
import { DEFAULT_HEARTBEAT_MS } from "./session/heartbeat.ts";
import type { RoomSession, SessionStats } from "./session/session.ts";
import { statsItems } from "./session/stats-text.ts";

/**
 * When the setup wizard runs: never (-y, --group, not a terminal), on the first run only
 * (no saved config yet: plain `mcchat` on a terminal), or always (`mcchat setup`).
 */
type WizardWhen = "never" | "first-run" | "always";

/**
 * Flags, then saved config, then defaults; the wizard (on a terminal) can change them.
 * The passphrase (passphrase.ts): --passphrase-file, else MCCHAT_PASSPHRASE, else the
 * wizard's answer, else the saved one.
 */
async function settle(
  flags: RawOptions,
  io: Io,
  when: WizardWhen,
  signal: AbortSignal | undefined,
): Promise<{ raw: RawOptions; interfaces: NetInterface[] }> {
  const [
    { DEFAULTS, withSaved },
    {
      choosePassphrase,
      explicitPassphrase,
      savedPassphraseNotOffered,
      savedPassphraseRefusal,
      savedPassphraseWarning,
    },
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
  const { configPath, configExposure, loadConfig, saveConfig } = store;
  const interfaces = listInterfaces();
  const path = configPath(io.env);
  const warn = (text: string | undefined): void => {
    if (text !== undefined) io.stderr.write(`mcchat: warning: ${text}\n`);
  };
  const explicit = await explicitPassphrase(flags.passphraseFile, io.env, warn);
  const { passphrase: stored, ...saved } = await loadConfig(path);
  // A saved passphrase is only as private as its file: checked like --passphrase-file, and
  // refused when another user could have replaced it (they would choose the room).
  const exposure = stored ? await configExposure(path) : {};
  const raw = withSaved(saved, flags);
  // A saved config means setup was done: the room is joined without a question.
  const firstRun = Object.keys(saved).length === 0 && stored === undefined;
  const wizard = when === "always" || (when === "first-run" && firstRun);
  if (!wizard) {
    const chosen = choosePassphrase({ explicit, saved: stored });
    if (chosen?.source === "config") {
      const refusal = savedPassphraseRefusal(path, exposure);
      if (refusal) throw refusal;
      warn(savedPassphraseWarning(path, exposure));
    }
    return { raw: { ...raw, roomPassphrase: chosen }, interfaces };
  }
  // The wizard neither offers nor keeps a passphrase another user could have saved; it saves
  // the file again 0600 in a 0700 directory.
  const notOffered = savedPassphraseNotOffered(path, exposure);
  warn(notOffered ?? savedPassphraseWarning(path, exposure));
  const savedPassphrase = notOffered === undefined ? stored : undefined;
  const [{ runWizard }, { asciiFramesOutput, utf8Locale }] = await Promise.all([
    import("./ui/wizard.ts"),
    import("./ui/locale.ts"),
  ]);
  const out = io.stdout as unknown as Writable;
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
    raw: raw.raw === true,
    input: io.stdin as unknown as Readable,
    // clack picks its frames from TERM alone: under a non-UTF-8 locale they are drawn in ASCII.
    output: utf8Locale(io.env) ? out : asciiFramesOutput(out),
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

export async function runJoin(flags: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  const [
    { parseIntIn, reservedGroupWarning, validateOptions },
    { defaultNick },
    { HISTORY_ANSWER_MAX },
  ] = await Promise.all([
    import("./config/options.ts"),
    import("./config/default-nick.ts"),
    import("./session/history/history-responder.ts"),
  ]);
  const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const { raw, interfaces } = await settle(
    flags,
    io,
    interactive && !flags.yes && flags.group === undefined ? "first-run" : "never",
    signal,
  );
  const opts = validateOptions(raw, { interfaces, defaultNick: defaultNick() });
  const reserved = reservedGroupWarning(opts.group);
  if (reserved) io.stderr.write(`mcchat: warning: ${reserved}\n`);
  const chat = interactive && !opts.listen;
  const asked = historyAsked(
    flags.history !== undefined ? parseIntIn(flags.history, "history", 0, 1000) : chat ? 20 : 0,
    HISTORY_ANSWER_MAX,
  );
  if (asked.note) io.stderr.write(`mcchat: ${asked.note}\n`);
  const history = asked.count;
  const heartbeatMs =
    flags.heartbeat !== undefined
      ? parseIntIn(flags.heartbeat, "heartbeat", 50, 600000)
      : undefined;
  // --log: opened before the socket (a path that cannot be written is refused up front).
  const log = await openLog(flags, io);
  // Derived before the socket opens: nothing to close if it fails. ~0.3 s (scrypt).
  const roomKey = opts.passphrase ? await roomKeyFor(opts.passphrase.value, opts) : undefined;
  // Only what this run uses: no chat UI (readline) in a pipe, no wizard, no sealing code in
  // an open room. The UI is loaded before the session starts (it then attaches at once; the
  // room's hub keeps what came before for it).
  const [
    { openUdpTransport, ROOM_RECV_BUFFER },
    { createSession },
    { Room },
    { makeColors },
    { describeSource },
  ] = await Promise.all([
    import("./net/udp-transport.ts"),
    import("./session/session.ts"),
    import("./room/room.ts"),
    import("./ui/colors.ts"),
    import("./config/passphrase.ts"),
  ]);
  const ui = chat
    ? { kind: "chat" as const, ...(await import("./ui/chat.ts")) }
    : {
        kind: "pipe" as const,
        ...(await import("./ui/pipe.ts")),
        ...(await import("./ui/format.ts")),
        ...(await import("./ui/wrap.ts")),
      };
  const udp = await openUdpTransport(await pinnedTransportOptions(opts, interfaces));
  udp.onError((err) => io.stderr.write(`mcchat: socket error: ${err.message}\n`));
  const transport: import("./net/transport.ts").Transport = roomKey
    ? (await import("./net/sealed-transport.ts")).sealTransport(udp, {
        roomKey,
        allowPlaintext: opts.allowPlaintext,
      })
    : udp;
  const small = recvBufferWarning(udp.recvBufferSize, ROOM_RECV_BUFFER);
  if (small) io.stderr.write(`mcchat: warning: ${small}\n`);
  // The room owns the session's life; its event hub (the session's sink) hands every event,
  // from the first one on, to each client: the log, then the chat room or the pipe.
  let session!: RoomSession;
  const room = Room.create((events) => {
    session = createSession({
      transport,
      encoding: opts.encoding,
      raw: opts.raw,
      legacy: opts.legacy,
      listen: opts.listen,
      nick: opts.nick,
      history,
      heartbeatMs,
      events,
    });
    return session;
  });
  // The log attaches before the room opens: it logs everything from the first event on.
  log?.attach(room, { room: roomAddress(opts), nick: opts.nick });
  await room.open();
  const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
  // The interface pinned by the route (no --interface) is not named: the system's choice, as before.
  const where = joinedWhere(opts, {
    joinedOn: udp.joinedOn,
    sendInterface: opts.sendIface ? udp.sendInterface : undefined,
  });
  const kind = opts.raw ? "legacy text" : opts.legacy ? "framed and legacy text" : "framed";
  const sealed = opts.passphrase
    ? `, encrypted (passphrase ${describeSource(opts.passphrase.source)})`
    : "";
  const joined = `joined ${where}, ${kind}${sealed}, encoding ${opts.encoding}`;
  if (io.stdout.isTTY) {
    const { localeWarning } = await import("./ui/locale.ts");
    const w = localeWarning(io.env);
    if (w !== undefined) io.stderr.write(`mcchat: warning: ${w}\n`);
  }
  let code: number;
  if (ui.kind === "chat") {
    code = await ui.runChat({
      room,
      input: io.stdin as unknown as Readable,
      output: io.stdout as unknown as Writable,
      colors,
      signal,
      bell: opts.bell,
      heartbeatMs: heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      pasteConfirm: flags.pasteConfirm !== false,
      header: [colors.dim(`mcchat ${pkg.version}: ${joined} as ${opts.nick}. /help for commands.`)],
    });
  } else {
    if (io.stderr.isTTY) io.stderr.write(`mcchat: ${joined}\n`);
    const { formatJson, formatPlain, wrapLines } = ui;
    // People read plain lines: two members whose nicks look alike get their #id suffixes, and
    // on a terminal rows are cut at its width with continuation rows indented (ui/wrap.ts).
    const plain = (e: Parameters<typeof formatPlain>[0]) => {
      const lines = formatPlain(e, colors, { members: room.members() });
      const columns = io.stdout.isTTY ? (io.stdout as { columns?: number }).columns : undefined;
      return columns === undefined ? lines : wrapLines(lines, columns);
    };
    code = await ui.runPipe({
      room,
      input: opts.listen ? null : (io.stdin as unknown as Readable),
      output: io.stdout as unknown as Writable,
      errors: io.stderr as unknown as Writable,
      render: opts.json ? (e) => [formatJson(e)] : plain,
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
  log?.close(signal, code);
  return code;
}

/**
 * The room's transport options, sending pinned: without --interface, to the interface the
 * system routes the group over at join (then a route lost with the link, e.g. the default
 * route, cannot silence us once the link is back). A this-host-only room keeps the interface
 * options.ts chose; no route at all keeps the system's choice (joining then says why).
 */
async function pinnedTransportOptions(
  opts: import("./config/options.ts").Options,
  interfaces: NetInterface[],
): Promise<import("./net/udp-transport.ts").UdpTransportOptions> {
  const [{ roomTransportOptions }, { routeInterface }] = await Promise.all([
    import("./net/udp-transport.ts"),
    import("./net/route-interface.ts"),
  ]);
  const t = roomTransportOptions(opts, interfaces);
  if (t.sendOn || opts.hostOnly) return t;
  const routed = await routeInterface(t.group, interfaces);
  if (routed) {
    t.sendOn = routed;
    t.sendOnFromRoute = true;
  }
  return t;
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
  const room = roomAddress(opts);
  const on = transport.joinedOn?.length ? ` on ${transport.joinedOn.join(", ")}` : "";
  const scope = opts.hostOnly ? ", this host only" : "";
  const sending = transport.sendInterface ? `, sending on ${transport.sendInterface}` : "";
  const source = opts.source ? `, hearing only ${opts.source}` : "";
  return `${room}${on}${scope}${sending}${source}`;
}

/** The room's address as shown: group:port, an IPv6 group in brackets. */
function roomAddress(opts: { group: string; port: number }): string {
  return opts.group.includes(":") ? `[${opts.group}]:${opts.port}` : `${opts.group}:${opts.port}`;
}

/**
 * `--log FILE` (ui/transcript.ts, loaded only when asked for): warnings go to stderr until
 * the log is attached to the room, then to the room's other clients as warning events.
 */
async function openLog(flags: RawOptions, io: Io) {
  const path = (flags as { log?: unknown }).log;
  if (path === undefined) return undefined;
  if (typeof path !== "string" || path === "") throw new UserError("--log needs a file name");
  const { openTranscript, attachTranscript } = await import("./ui/transcript.ts");
  let warn = (text: string): void => {
    io.stderr.write(`mcchat: warning: ${text}\n`);
  };
  const transcript = openTranscript(path, { warn: (text) => warn(text) });
  return {
    /** The open marker (the log's first line of this session), then every event of the room. */
    attach(room: Room, opened: { room: string; nick: string }): void {
      transcript.mark({
        type: "session",
        event: "open",
        time: new Date(),
        ...opened,
        version: pkg.version,
      });
      const client = attachTranscript(room, transcript);
      warn = (text) => client.warn(text);
    },
    /** The close marker: "left", or the stop request's reason (SIGTERM, hangup…); the status. */
    close(signal: AbortSignal, status: number): void {
      const reason = !signal.aborted
        ? "left"
        : typeof signal.reason === "string"
          ? signal.reason
          : "stopped";
      transcript.mark({ type: "session", event: "close", time: new Date(), reason, status });
      transcript.close();
    },
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
export async function runSetup(flags: RawOptions, io: Io, signal: AbortSignal): Promise<number> {
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
    throw new UserError("setup needs a terminal (stdin and stdout)");
  }
  await settle(flags, io, "always", signal);
  const { configPath } = await import("./config/store.ts");
  io.stdout.write(`saved ${configPath(io.env)}\n`);
  return 0;
}

/**
 * The history to ask for: a member answers at most `max` messages, so more is asked as
 * `max`, and said (not silently cut).
 */
export function historyAsked(requested: number, max: number): { count: number; note?: string } {
  if (requested <= max) return { count: requested };
  return { count: max, note: `history is limited to ${max} messages; asking for ${max}` };
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

/** The --stats line (named as /stats all names them); an encrypted room adds what its transport dropped. */
export function formatStats(s: SessionStats, room: { encrypted?: boolean } = {}): string {
  return `mcchat: stats: ${statsItems(s, room).join(", ")}`;
}
