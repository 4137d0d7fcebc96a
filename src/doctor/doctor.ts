/**
 * `mcchat doctor`: check this host's multicast set-up for the room, with a verdict and a
 * concrete fix per check. The static checks (checks.ts) read the host through an
 * injectable platform; the live part joins the room with the room's own transport, listens
 * first, checks that our own datagram loops back, and lists whom it hears for a few seconds
 * (census.ts). In an encrypted room (sealed datagrams heard) doctor sends nothing: its
 * plaintext probe would count at every member as a datagram from a wrong passphrase.
 * Exit 0 when no check fails, 1 otherwise.
 */
import type { NetInterface, Options, RawOptions } from "../config/options.ts";
import type { Io } from "../io.ts";
import type { Datagram } from "../net/transport.ts";
import { encode, randomInstanceId } from "../protocol/index.ts";
import { Census, type CensusResult, checkRoom } from "./census.ts";
import {
  type Check,
  candidateInterfaces,
  checkInterfaces,
  checkJoin,
  checkLoopback,
  checkMembership,
  checkRecvBuffer,
  checkRoute,
  checkRpFilter,
  type DoctorRoom,
  describeInterfaces,
  type LoopbackResult,
  WANTED_RECV_BUFFER,
} from "./checks.ts";
import { type DoctorPlatform, hostPlatform } from "./platform.ts";
import { type DoctorReport, renderHuman, renderJson } from "./render.ts";

export type { DoctorReport } from "./render.ts";

/** Default listening time, seconds. */
export const DEFAULT_LISTEN_SECONDS = 3;
/** Interval between loop-back probes, ms. */
const PROBE_INTERVAL_MS = 250;
/**
 * Listening before the first probe, ms: longer than an idle member's heartbeat interval
 * (2 s by default), so a present encrypted room is heard before doctor would send into it.
 */
export const PROBE_QUIET_MS = 2500;
/** Listening time kept for the probes after the quiet part (a short --timeout probes at once). */
export const PROBE_WINDOW_MS = 500;

/** When the first loop-back probe may go, ms after joining, for a listening time of `ms`. */
export function probeDelay(ms: number): number {
  return Math.max(0, Math.min(PROBE_QUIET_MS, ms - PROBE_WINDOW_MS));
}

/** The part of the room's transport doctor uses. */
export interface DoctorTransport {
  send(data: Uint8Array, channel?: "framed" | "legacy"): Promise<void>;
  onDatagram(handler: (d: Datagram) => void): void;
  close(): Promise<void>;
  readonly recvBufferSize?: number;
  readonly sendInterface?: string;
  readonly joinedOn?: readonly string[];
  onError?(handler: (err: Error) => void): void;
}

export interface DoctorDeps {
  platform?: DoctorPlatform;
  interfaces?: readonly NetInterface[];
  /** Opens the room (default: the room's UDP transport, as `mcchat` joins). */
  openTransport?: (opts: Options, interfaces: readonly NetInterface[]) => Promise<DoctorTransport>;
}

export async function runDoctor(
  flags: RawOptions,
  io: Io,
  signal: AbortSignal,
  deps: DoctorDeps = {},
): Promise<number> {
  const [{ validateOptions, withSaved }, { listInterfaces }, store] = await Promise.all([
    import("../config/options.ts"),
    import("../net/interfaces.ts"),
    import("../config/store.ts"),
  ]);
  const interfaces = deps.interfaces ?? deps.platform?.interfaces ?? listInterfaces();
  const platform = deps.platform ?? hostPlatform(interfaces);
  // The room `mcchat -y` would join: flags, then the saved config, then defaults.
  const merged = withSaved(await store.loadConfig(store.configPath(io.env)), flags);
  const raw: RawOptions = {};
  for (const k of ["group", "port", "interface", "ttl", "timeout", "source"] as const) {
    if (merged[k] !== undefined) raw[k] = merged[k];
  }
  const opts = validateOptions(raw, { interfaces, defaultNick: "doctor" });
  const room = doctorRoom(opts);
  const seconds = opts.timeoutSeconds ?? DEFAULT_LISTEN_SECONDS;

  const checks: Check[] = [
    checkInterfaces(room, platform),
    checkRoute(room, platform),
    checkRpFilter(room, platform),
  ];
  const live = await listen(room, opts, interfaces, platform, seconds * 1000, signal, deps);
  // Stopped early (Ctrl-C, SIGTERM): say how long it really listened.
  const listened =
    signal.aborted && live.loopback ? Math.round(live.loopback.waitedMs / 100) / 10 : seconds;
  checks.push(
    checkJoin(room, live.joinError, live, candidateInterfaces(room, platform)[0]),
    live.membership,
    checkRecvBuffer(platform, live.recvBuffer),
    checkLoopback(room, live.loopback),
    checkRoom(room, live.heard, listened, signal.aborted),
  );
  const report: DoctorReport = {
    room: { ...room, framedPort: room.port + 1 },
    platform: platform.name,
    interfaces: describeInterfaces(platform),
    checks,
    heard: live.heard,
    listenedSeconds: listened,
    ok: checks.every((c) => c.status !== "fail"),
  };
  if (flags.json) io.stdout.write(`${renderJson(report)}\n`);
  else {
    const { makeColors } = await import("../ui/colors.ts");
    const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
    const { asciiFrames, utf8Locale } = await import("../ui/locale.ts");
    const text = renderHuman(report, colors).join("\n");
    io.stdout.write(`${utf8Locale(io.env) ? text : asciiFrames(text)}\n`);
  }
  return report.ok ? 0 : 1;
}

/** The room from the validated options. */
export function doctorRoom(opts: Options): DoctorRoom {
  return {
    group: opts.group,
    family: opts.family,
    port: opts.port,
    ttl: opts.ttl,
    ifaces: opts.ifaces.map((i) => ({ name: i.name, address: i.address })),
    hostOnly: opts.hostOnly,
    ...(opts.source !== undefined ? { source: opts.source } : {}),
  };
}

/** The room's transport as `mcchat` opens it, with loop-back on (doctor must hear itself). */
async function openRoomTransport(
  opts: Options,
  interfaces: readonly NetInterface[],
): Promise<DoctorTransport> {
  const { openUdpTransport, roomTransportOptions } = await import("../net/udp-transport.ts");
  return await openUdpTransport({
    ...roomTransportOptions(opts, interfaces),
    raw: false,
    loopback: true,
    recvBufferSize: WANTED_RECV_BUFFER,
  });
}

interface LiveResult {
  joinError?: string;
  sendInterface?: string;
  joinedOn?: readonly string[];
  recvBuffer?: number;
  membership: Check;
  loopback?: LoopbackResult;
  heard?: CensusResult;
}

/**
 * Join, read the memberships while joined, listen, then send loop-back probes until one
 * comes back, and listen for `ms` in all (less if `signal` aborts). The probe is a REPORT
 * frame from a fresh instance id about itself: members of an open room ignore it (no join
 * line, no repairs). None is sent once a sealed datagram was heard (an encrypted room would
 * count it as undecryptable), nor before probeDelay(ms).
 */
async function listen(
  room: DoctorRoom,
  opts: Options,
  interfaces: readonly NetInterface[],
  platform: DoctorPlatform,
  ms: number,
  signal: AbortSignal,
  deps: DoctorDeps,
): Promise<LiveResult> {
  let transport: DoctorTransport;
  try {
    transport = await (deps.openTransport ?? openRoomTransport)(opts, interfaces);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return {
      // The transport's hint may point at doctor itself: not needed here.
      joinError: text.replace(/^cannot /, "").replace(/;? see mcchat doctor/, ""),
      membership: checkMembership(room, platform, false),
    };
  }
  const id = randomInstanceId();
  const census = new Census(id);
  const probe = encode({ type: "report", id, seq: 0xffffffff, entries: [{ target: id, next: 0 }] });
  const loop: LoopbackResult = { sent: 0, errors: [], waitedMs: 0 };
  const start = performance.now();
  let firstSent: number | undefined;
  let wake: () => void = () => {};
  transport.onError?.((err) => {
    if (loop.errors.length < 5) loop.errors.push(err.message);
  });
  transport.onDatagram((d) => {
    if (census.take(d) && loop.ms === undefined) {
      loop.ms = performance.now() - (firstSent ?? start);
    }
    if (census.heardSealed) loop.encrypted = true;
  });
  const sendProbe = () => {
    loop.sent++;
    firstSent ??= performance.now();
    transport.send(probe, "framed").catch((err: Error) => {
      const e = err as NodeJS.ErrnoException;
      const text = e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
      if (loop.errors.length < 5 && !loop.errors.includes(text)) loop.errors.push(text);
    });
  };
  try {
    const membership = checkMembership(room, platform, true);
    const deadline = start + ms;
    const probeAt = start + probeDelay(ms);
    const onAbort = () => wake();
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        const now = performance.now();
        if (now >= deadline) break;
        // A source-specific join filters out our own datagrams like every other sender's.
        const probing = loop.ms === undefined && room.source === undefined && !loop.encrypted;
        if (probing && now >= probeAt) sendProbe();
        const next = probing && now < probeAt ? probeAt - now : PROBE_INTERVAL_MS;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(next, deadline - now));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    loop.waitedMs = performance.now() - start;
    return {
      sendInterface: transport.sendInterface,
      joinedOn: transport.joinedOn,
      recvBuffer: transport.recvBufferSize,
      membership,
      loopback: loop,
      heard: census.result(),
    };
  } finally {
    await transport.close();
  }
}
