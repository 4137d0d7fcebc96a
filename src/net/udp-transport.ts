import dgram from "node:dgram";
import { isIPv4, isIPv6 } from "node:net";
import os from "node:os";
import { type NetInterface, roomPortProblem } from "../config/options.ts";
import { UserError } from "../errors.ts";
import {
  type Channel,
  type Datagram,
  LINK_DOWN_CODES,
  SendFailedError,
  type Transport,
} from "./transport.ts";

/** Highest UDP port (options.ts, where the room port is checked); re-exported for callers here. */
export { MAX_PORT } from "../config/options.ts";

/** The companion port that carries a framed room's frames (PROTOCOL.md "Ports"). */
export const framedPort = (roomPort: number) => roomPort + 1;

/** Receive buffer a room asks the kernel for (each receiving socket), in bytes. */
export const ROOM_RECV_BUFFER = 8 * 1024 * 1024;

/**
 * While sends fail because the link is down, how often the sending interface is looked up again
 * (re-pinned, on a new address if it has one) and the memberships re-joined: one
 * os.networkInterfaces() and a few setsockopt calls every 2 s, only while failing.
 */
export const REPIN_POLL_MS = 2000;

/** A local interface to join or send on: its name, an address in the group's family, its index. */
export interface TransportInterface {
  name: string;
  address: string;
  /** Interface index: needed for IPv6 on Windows (`::%<index>`). */
  index?: number;
}

/** What the transport needs of a datagram socket (node:dgram's Socket has it; tests pass fakes). */
export interface DgramSocketLike {
  bind(
    options: { port: number; address?: string; exclusive?: boolean },
    callback: () => void,
  ): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(
    event: "message",
    listener: (msg: Uint8Array, rinfo: { address: string; port: number }) => void,
  ): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
  off(event: "error", listener: (err: Error) => void): unknown;
  addMembership(group: string, iface?: string): void;
  dropMembership(group: string, iface?: string): void;
  addSourceSpecificMembership(source: string, group: string, iface?: string): void;
  dropSourceSpecificMembership(source: string, group: string, iface?: string): void;
  setMulticastInterface(iface: string): void;
  setMulticastTTL(ttl: number): unknown;
  setMulticastLoopback(on: boolean): unknown;
  setRecvBufferSize(size: number): void;
  getRecvBufferSize(): number;
  address(): { address: string; port: number };
  send(msg: Uint8Array, port: number, address: string, callback: (err: Error | null) => void): void;
  close(): void;
}

export type CreateSocket = (o: { type: "udp4" | "udp6"; reuseAddr: boolean }) => DgramSocketLike;

export interface UdpTransportOptions {
  /** IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) group: IPv6 groups use udp6 sockets. */
  group: string;
  /** The room port P: legacy text. Framed members also use P+1 for frames. */
  port: number;
  /** Pure legacy member: only the room port, both channels sent there. Default false. */
  raw?: boolean;
  /** Source-specific (SSM) join: hear only datagrams from this unicast address (the group's family). */
  source?: string;
  /**
   * Interfaces to join on: one membership per interface on each receiving socket.
   * Absent or empty: one membership on the interface the system chooses.
   */
  joinOn?: readonly TransportInterface[];
  /** Interface to send on (setMulticastInterface); undefined = the system's choice. */
  sendOn?: TransportInterface;
  /**
   * `sendOn` is the route's choice at join, not the user's: where the system cannot pin the
   * sending interface (IP_MULTICAST_IF refused, as under qemu-user: ENOPROTOOPT), sending is
   * left to the system's choice instead of failing the join.
   */
  sendOnFromRoute?: boolean;
  /** Multicast TTL / hop limit on the wire, 1..255. */
  ttl: number;
  loopback: boolean;
  /** Receive buffer to ask the kernel for, in bytes (each receiving socket). */
  recvBufferSize?: number;
  /** Local addresses of this host, to recognise our own looped-back datagrams. */
  localAddresses?: readonly string[];
  /** The platform whose socket rules apply; default process.platform (tests inject others). */
  platform?: NodeJS.Platform;
  /** Makes the sockets; default node:dgram's createSocket (tests inject fakes). */
  createSocket?: CreateSocket;
  /** This host's interfaces now, looked up while sends fail; default os.networkInterfaces (tests inject). */
  networkInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** Runs `fn` after `ms` (unref'd), returns a cancel; default setTimeout (tests inject). */
  schedule?: (fn: () => void, ms: number) => () => void;
}

const defaultSchedule = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

export interface UdpTransport extends Transport {
  /** Source port of our sending socket (the same for both channels). */
  readonly sendPort: number;
  /**
   * Receive buffer the kernel actually gave the framed socket (the room-port socket of
   * a raw member). Linux reports twice the usable size.
   */
  readonly recvBufferSize: number;
  /** The interface we send on, as text to show ("eth0 (198.18.0.1)"); undefined = the system's choice. */
  readonly sendInterface?: string;
  /** The interfaces joined on, as text ("eth0 (198.18.0.1)"); empty = the system's choice. */
  readonly joinedOn: readonly string[];
  /** Socket errors after start-up go here (default: ignored). */
  onError(handler: (err: Error) => void): void;
  /** Memberships found dropped by the kernel and joined again (after the link came back). */
  readonly rejoined: number;
  /** Times the sending interface was pinned again on a new address (or a new sending socket). */
  readonly repinned: number;
}

function explain(err: unknown, what: string): UserError {
  if (err instanceof UserError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  const hints: Record<string, string> = {
    EACCES: "permission denied",
    EADDRINUSE: "in use by a program that does not share it (SO_REUSEADDR)",
    EADDRNOTAVAIL: "address not available on this host",
    ENODEV: "no such device",
    ENETUNREACH: "no route to the group (is there a multicast route or default route?)",
    EINVAL: "invalid argument",
    ENOPROTOOPT: "not supported by this system",
    EMSGSIZE: "datagram too large",
  };
  const why = hints[code] ?? e?.message ?? String(err);
  return new UserError(
    `cannot ${what}: ${why}${code && !why.includes(code) ? ` (${code})` : ""}`,
    1,
  );
}

function bindSocket(sock: DgramSocketLike, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once("error", onError);
    sock.bind({ port, address, exclusive: false }, () => {
      sock.off("error", onError);
      resolve();
    });
  });
}

/** "eth0 (198.18.0.1)", or the address alone when the name is the address. */
export function describeInterface(i: TransportInterface): string {
  return i.name === i.address || !i.name ? i.address : `${i.name} (${i.address})`;
}

/** True for an IPv6 group of interface- or link-local scope (ffx1::, ffx2::): bound only with a scope. */
function isScopedGroup(group: string): boolean {
  return isIPv6(group) && /^ff[0-9a-f][12]:/i.test(group);
}

/**
 * Where receiving sockets bind. Linux: the group address, which keeps out other groups
 * joined on the same port by any socket of the host (IP_MULTICAST_ALL); an interface- or
 * link-local IPv6 group cannot be bound without a scope (EINVAL), so it is bound with the
 * one interface joined (`ff02::1%eth0`), or the wildcard when there are several or none.
 * Windows cannot bind a multicast address, and on macOS a socket bound to the group
 * misses datagrams looped back from sibling processes (Bun): both bind the wildcard.
 */
export function receiveBindAddress(
  group: string,
  platform: NodeJS.Platform,
  joinOn: readonly TransportInterface[] = [],
): string {
  const wildcard = isIPv6(group) ? "::" : "0.0.0.0";
  if (platform !== "linux") return wildcard;
  if (isScopedGroup(group)) return joinOn.length === 1 ? `${group}%${joinOn[0]?.name}` : wildcard;
  return group;
}

/**
 * The interface argument of add/dropMembership, the SSM calls and setMulticastInterface.
 * IPv4: the interface's address on every platform (Bun silently ignores names). IPv6:
 * `::%<index>` on Windows, where Bun reads the scope as a number; `::%<name>` elsewhere
 * (Linux, macOS), where Bun resolves the scope with if_nametoindex, so a number there
 * silently means "the default interface" (checked with strace: `::%3` joins on index 0).
 */
export function interfaceArgument(
  i: TransportInterface,
  family: "IPv4" | "IPv6",
  platform: NodeJS.Platform,
): string {
  if (family === "IPv4") {
    if (!isIPv4(i.address)) {
      throw new UserError(`interface ${i.name} has no IPv4 address to join an IPv4 group with`);
    }
    return i.address;
  }
  if (platform !== "win32") return `::%${i.name}`;
  if (i.index === undefined) {
    throw new UserError(
      `interface ${i.name}: its index is unknown, and IPv6 multicast on Windows needs it`,
    );
  }
  return `::%${i.index}`;
}

/** A receiving socket of the room and the channel it hears. */
interface Receiver {
  sock: DgramSocketLike;
  port: number;
  channel: Channel;
  /** Interface arguments joined on (undefined = the system's choice), to drop on close. */
  joined: (string | undefined)[];
}

/** One entry per interface: joining one interface twice fails (EADDRINUSE). */
function distinctInterfaces(
  list: readonly TransportInterface[],
  family: "IPv4" | "IPv6",
): TransportInterface[] {
  const seen = new Set<string>();
  const out: TransportInterface[] = [];
  for (const i of list) {
    const key = family === "IPv4" ? i.address : i.name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out;
}

/** node:dgram's sockets (Bun's). */
const nodeCreateSocket: CreateSocket = (o) => dgram.createSocket(o);

/**
 * Open the room. Receiving sockets, each bound with SO_REUSEADDR (so any number of
 * copies, and legacy programs, share the port) and joined to the group on each of
 * `joinOn` (or where the system chooses), source-specifically with `source`: the room
 * port P (legacy text) and, unless `raw`, the companion port P+1 (frames). One separate
 * sending socket with TTL, loopback and outgoing interface set sends both channels, so
 * frames and bridged legacy text come from one source address:port.
 */
export async function openUdpTransport(opts: UdpTransportOptions): Promise<UdpTransport> {
  const raw = opts.raw === true;
  const portProblem = roomPortProblem(opts.port, raw);
  if (portProblem) throw new UserError(portProblem, 2);
  const family: "IPv4" | "IPv6" = isIPv6(opts.group) ? "IPv6" : "IPv4";
  if (family === "IPv4" && !isIPv4(opts.group)) {
    throw new UserError(`group must be an IP multicast address, not "${opts.group}"`, 2);
  }
  if (opts.source !== undefined) {
    const ok = family === "IPv6" ? isIPv6(opts.source) : isIPv4(opts.source);
    if (!ok) {
      throw new UserError(
        `source ${opts.source} must be an ${family} address like the group ${opts.group}`,
        2,
      );
    }
  }
  if (!Number.isInteger(opts.ttl) || opts.ttl < 1 || opts.ttl > 255) {
    throw new UserError(`multicast TTL on the wire must be from 1 to 255, not ${opts.ttl}`, 2);
  }
  const platform = opts.platform ?? process.platform;
  const joinOn = distinctInterfaces(opts.joinOn ?? [], family);
  const sendOn = opts.sendOn;
  // Interface arguments first: a missing index is a UserError before any socket exists.
  const joinArgs: (string | undefined)[] = joinOn.length
    ? joinOn.map((i) => interfaceArgument(i, family, platform))
    : [undefined];
  if (sendOn) interfaceArgument(sendOn, family, platform);
  const createSocket = opts.createSocket ?? nodeCreateSocket;
  const type = family === "IPv6" ? "udp6" : "udp4";

  let handler: (d: Datagram) => void = () => {};
  let errorHandler: (err: Error) => void = () => {};
  // Always an 'error' listener: an unhandled socket error would kill the process.
  const onSocketError = (err: Error) => errorHandler(err);
  const make = (reuseAddr: boolean) => {
    const s = createSocket({ type, reuseAddr });
    s.on("error", onSocketError);
    return s;
  };
  const receivers: Receiver[] = [
    { sock: make(true), port: opts.port, channel: "legacy", joined: [] },
  ];
  if (!raw) {
    receivers.push({
      sock: make(true),
      port: framedPort(opts.port),
      channel: "framed",
      joined: [],
    });
  }
  /** The sending socket: replaced when the pinned interface comes back on a new IPv4 address. */
  let send = make(false);
  /** Whether setUpSender could pin `sendOn` (see sendOnFromRoute). */
  let sendPinned = false;
  let closed = false;

  const join = (sock: DgramSocketLike, iface: string | undefined) => {
    if (opts.source !== undefined) {
      if (iface === undefined) sock.addSourceSpecificMembership(opts.source, opts.group);
      else sock.addSourceSpecificMembership(opts.source, opts.group, iface);
    } else if (iface === undefined) sock.addMembership(opts.group);
    else sock.addMembership(opts.group, iface);
  };
  const leave = (sock: DgramSocketLike, iface: string | undefined) => {
    if (opts.source !== undefined) {
      if (iface === undefined) sock.dropSourceSpecificMembership(opts.source, opts.group);
      else sock.dropSourceSpecificMembership(opts.source, opts.group, iface);
    } else if (iface === undefined) sock.dropMembership(opts.group);
    else sock.dropMembership(opts.group, iface);
  };
  const dropMemberships = () => {
    for (const r of receivers) {
      for (const iface of r.joined.splice(0)) {
        try {
          leave(r.sock, iface);
        } catch {}
      }
    }
  };
  const closeAll = () => {
    dropMemberships();
    for (const s of [...receivers.map((r) => r.sock), send]) {
      try {
        s.close();
      } catch {}
    }
  };

  /**
   * Binds a sending socket and pins it to `iface`. IPv4: bound to the interface's address, so
   * datagrams carry it as their source. IPv6: the wildcard (a link-local address would need its
   * scope); the kernel takes the source address from the outgoing interface.
   */
  const setUpSender = async (
    sock: DgramSocketLike,
    iface: TransportInterface | undefined,
  ): Promise<boolean> => {
    const sendBind = family === "IPv4" ? iface?.address : undefined;
    await bindSocket(sock, 0, sendBind).catch((e) => {
      throw explain(e, "open the sending socket");
    });
    let isPinned = false;
    try {
      if (iface) sock.setMulticastInterface(interfaceArgument(iface, family, platform));
      isPinned = iface !== undefined;
    } catch (e) {
      if (!opts.sendOnFromRoute) {
        throw explain(e, `send on ${iface ? describeInterface(iface) : "the interface"}`);
      }
    }
    try {
      sock.setMulticastTTL(opts.ttl);
      sock.setMulticastLoopback(opts.loopback);
    } catch (e) {
      throw explain(e, "set multicast options");
    }
    return isPinned;
  };

  const what =
    opts.source !== undefined
      ? `join group ${opts.group} from source ${opts.source}`
      : `join group ${opts.group}`;
  try {
    const bindAddr = receiveBindAddress(opts.group, platform, joinOn);
    for (const r of receivers) {
      const bindWhat =
        r.channel === "framed"
          ? `bind UDP port ${r.port} (the framed companion of room port ${opts.port})`
          : `bind UDP port ${r.port}`;
      // Bun: bind before joining.
      await bindSocket(r.sock, r.port, bindAddr).catch((e) => {
        throw explain(e, bindWhat);
      });
      joinArgs.forEach((arg, n) => {
        try {
          join(r.sock, arg);
          r.joined.push(arg);
        } catch (e) {
          const iface = joinOn[n];
          if (!iface && (e as NodeJS.ErrnoException)?.code === "ENODEV") {
            // No interface given and no route for the kernel to pick one by.
            throw new UserError(
              `cannot ${what}: no route to choose an interface by (pass --interface, or add a multicast or default route; see mcchat doctor) (ENODEV)`,
              1,
            );
          }
          throw explain(e, `${what}${iface ? ` on ${describeInterface(iface)}` : ""}`);
        }
      });
    }
    sendPinned = await setUpSender(send, sendOn);
  } catch (e) {
    closeAll();
    throw e;
  }

  // Frames carry the bulk of the traffic; legacy text is a few datagrams per message,
  // but a burst of it must not be dropped either, so both ask for the same size.
  let recvBufferSize = 0;
  for (const r of receivers) {
    try {
      if (opts.recvBufferSize) r.sock.setRecvBufferSize(opts.recvBufferSize);
      const got = r.sock.getRecvBufferSize();
      if (r.channel === "framed" || raw) recvBufferSize = got;
    } catch {}
  }

  let sendPort = send.address().port;
  const local = new Set(opts.localAddresses ?? []);
  for (const r of receivers) {
    const channel = r.channel;
    r.sock.on("message", (msg, rinfo) => {
      if (closed) return;
      // IPv6 link-local sources come with their scope ("fe80::1%eth0").
      const pct = rinfo.address.indexOf("%");
      const from = pct < 0 ? rinfo.address : rinfo.address.slice(0, pct);
      const self = rinfo.port === sendPort && local.has(from);
      handler({
        data: new Uint8Array(msg),
        address: rinfo.address,
        port: rinfo.port,
        self,
        channel,
      });
    });
  }
  /** Rejecters of sends not yet called back. */
  const inFlight = new Set<(err: Error) => void>();
  const portOf = (channel: Channel) =>
    channel === "framed" && !raw ? framedPort(opts.port) : opts.port;

  // ---- the link goes down and comes back ------------------------------------------------
  // Sending stays pinned to the interface chosen at join (IP_MULTICAST_IF), so a route lost
  // with the link cannot silence us once it is back. While sends fail with a link error, a
  // slow poll looks the interface up again: pinned anew (on its new address, if it has one;
  // a re-created interface has a new index) and the memberships re-joined where the kernel
  // dropped them. The first send that works again re-joins once more and stops the poll.
  const interfacesNow = opts.networkInterfaces ?? os.networkInterfaces;
  const schedule = opts.schedule ?? defaultSchedule;
  /** The pinned interface as last set up (its address may change); none if it could not be pinned. */
  let pinned = sendPinned ? sendOn : undefined;
  let failing = false;
  let cancelPoll: (() => void) | undefined;
  let rejoined = 0;
  let repinned = 0;
  let repinning = false;

  /** `i` with its address now (by name, in the group's family); undefined if it has none. */
  const lookUp = (i: TransportInterface): TransportInterface | undefined => {
    let addrs: os.NetworkInterfaceInfo[] | undefined;
    try {
      addrs = interfacesNow()[i.name];
    } catch {
      return undefined;
    }
    const same = addrs?.filter((a) => a.family === family) ?? [];
    if (same.length === 0) return undefined;
    const a = same.find((x) => x.address === i.address) ?? same[0];
    if (!a) return undefined;
    return { ...i, address: a.address };
  };

  /** Joins again wherever the kernel dropped a membership (joining one held fails: EADDRINUSE). */
  const rejoin = () => {
    const on = joinOn.length ? joinOn : pinned ? [pinned] : [];
    for (const i of on) {
      const now = lookUp(i);
      if (!now) continue;
      let arg: string;
      try {
        arg = interfaceArgument(now, family, platform);
      } catch {
        continue;
      }
      for (const r of receivers) {
        try {
          join(r.sock, arg);
          if (!r.joined.includes(arg)) r.joined.push(arg);
          rejoined++;
        } catch {}
      }
    }
  };

  /** Pins sending to the interface again: a new socket when its IPv4 address changed. */
  const repin = async () => {
    if (!pinned || repinning) return;
    const now = lookUp(pinned);
    if (!now) return; // not back yet
    if (family === "IPv4" && now.address !== pinned.address) {
      repinning = true;
      const fresh = make(false);
      try {
        await setUpSender(fresh, now);
      } catch {
        try {
          fresh.close();
        } catch {}
        return;
      } finally {
        repinning = false;
      }
      if (closed) {
        try {
          fresh.close();
        } catch {}
        return;
      }
      const old = send;
      send = fresh;
      sendPort = send.address().port;
      local.add(now.address);
      pinned = now;
      repinned++;
      try {
        old.close();
      } catch {}
      return;
    }
    // Same address (or IPv6, pinned by name): setting it again finds the interface's index
    // anew, which a re-created interface has changed.
    try {
      send.setMulticastInterface(interfaceArgument(now, family, platform));
      pinned = now;
    } catch {}
  };

  const poll = () => {
    cancelPoll = undefined;
    if (closed || !failing) return;
    void repin().finally(() => {
      rejoin();
      if (!closed && failing) cancelPoll = schedule(poll, REPIN_POLL_MS);
    });
  };
  const linkDown = () => {
    if (failing) return;
    failing = true;
    cancelPoll = schedule(poll, REPIN_POLL_MS);
  };
  const linkUp = () => {
    if (!failing) return;
    failing = false;
    cancelPoll?.();
    cancelPoll = undefined;
    rejoin();
  };

  return {
    get sendPort() {
      return sendPort;
    },
    recvBufferSize,
    sendInterface: sendOn ? describeInterface(sendOn) : undefined,
    joinedOn: joinOn.map(describeInterface),
    get rejoined() {
      return rejoined;
    },
    get repinned() {
      return repinned;
    },
    onDatagram(h) {
      handler = h;
    },
    onError(h) {
      errorHandler = h;
    },
    send(data, channel = "framed") {
      return new Promise<void>((resolve, reject) => {
        if (closed) return reject(new Error("transport closed"));
        inFlight.add(reject);
        send.send(data, portOf(channel), opts.group, (err) => {
          inFlight.delete(reject);
          if (err) {
            const code = (err as NodeJS.ErrnoException).code ?? "";
            if (LINK_DOWN_CODES.has(code)) linkDown();
            // One clear line wherever it ends up (a warning, or the start's failure).
            const line = explain(err, `send to ${opts.group}`).message;
            reject(new SendFailedError(line, code, pinned?.name));
          } else {
            linkUp();
            resolve();
          }
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      cancelPoll?.();
      cancelPoll = undefined;
      closeAll();
      // A send cut off by the close may never call back: no exit path waits on it.
      for (const reject of inFlight) reject(new Error("transport closed"));
      inFlight.clear();
    },
  };
}

/** What roomTransportOptions reads of the validated options (options.ts Options has it all). */
export interface RoomTransportInput {
  group: string;
  port: number;
  raw: boolean;
  ttl: number;
  loopback: boolean;
  source?: string;
  /** Chosen by options.ts, this-host-only rooms included: [] = the system's choice. */
  ifaces: readonly TransportInterface[];
  sendIface?: TransportInterface;
  hostOnly: boolean;
}

/**
 * The transport options of a room (used by `mcchat` joining a room and by `mcchat doctor`).
 * Pure. The interfaces are the ones options.ts chose, also for TTL 0 ("this host only"),
 * which is TTL 1 on the wire. Linux's lo carries no IPv6 multicast: an IPv6 room on it
 * would hear nothing, so it is refused with one line.
 */
export function roomTransportOptions(
  opts: RoomTransportInput,
  interfaces: readonly NetInterface[],
  platform: NodeJS.Platform = process.platform,
): UdpTransportOptions {
  const joinOn = opts.ifaces;
  const sendOn = opts.sendIface;
  if (isIPv6(opts.group) && platform === "linux") {
    const loopbacks = new Set(interfaces.filter((i) => i.internal).map((i) => i.name));
    const lo = [...joinOn, ...(sendOn ? [sendOn] : [])].find(
      (i) => loopbacks.has(i.name) || i.name === "lo",
    );
    if (lo) {
      throw new UserError(
        `interface ${lo.name}: Linux does not carry IPv6 multicast over the loopback; choose another interface, or for this host only use --ttl 0 with an ff01:: group`,
        2,
      );
    }
  }
  const out: UdpTransportOptions = {
    group: opts.group,
    port: opts.port,
    raw: opts.raw,
    joinOn,
    ttl: opts.hostOnly ? 1 : opts.ttl,
    loopback: opts.loopback,
    recvBufferSize: ROOM_RECV_BUFFER,
    localAddresses: ["0.0.0.0", "::", ...interfaces.map((i) => i.address)],
  };
  if (opts.source !== undefined) out.source = opts.source;
  if (sendOn) out.sendOn = sendOn;
  return out;
}
