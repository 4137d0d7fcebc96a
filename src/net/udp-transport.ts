import dgram from "node:dgram";
import { UserError } from "../errors.ts";
import type { Channel, Datagram, Transport } from "./transport.ts";

/** Highest UDP port; a framed room needs port + 1 as its companion, so its port is below it. */
export const MAX_PORT = 65535;

/** The companion port that carries a framed room's frames (PROTOCOL.md "Ports"). */
export const framedPort = (roomPort: number) => roomPort + 1;

export interface UdpTransportOptions {
  group: string;
  /** The room port P: legacy text. Framed members also use P+1 for frames. */
  port: number;
  /** Pure legacy member: only the room port, both channels sent there. Default false. */
  raw?: boolean;
  /** IPv4 address of the interface to join and send on; undefined = system default. */
  interfaceAddress?: string;
  ttl: number;
  loopback: boolean;
  /** Receive buffer to ask the kernel for, in bytes (each receiving socket). */
  recvBufferSize?: number;
  /** Local addresses of this host, to recognise our own looped-back datagrams. */
  localAddresses?: readonly string[];
}

export interface UdpTransport extends Transport {
  /** Source port of our sending socket (the same for both channels). */
  readonly sendPort: number;
  /**
   * Receive buffer the kernel actually gave the framed socket (the room-port socket of
   * a raw member). Linux reports twice the usable size.
   */
  readonly recvBufferSize: number;
  /** Socket errors after start-up go here (default: ignored). */
  onError(handler: (err: Error) => void): void;
}

function explain(err: unknown, what: string): UserError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  const hints: Record<string, string> = {
    EACCES: "permission denied",
    EADDRINUSE: "in use by a program that does not share it (SO_REUSEADDR)",
    EADDRNOTAVAIL: "address not available on this host",
    ENODEV: "no such device",
    ENETUNREACH: "no route to the group (is there a multicast route or default route?)",
    EINVAL: "invalid argument",
  };
  const why = hints[code] ?? e?.message ?? String(err);
  return new UserError(
    `cannot ${what}: ${why}${code && !why.includes(code) ? ` (${code})` : ""}`,
    1,
  );
}

function bindSocket(sock: dgram.Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once("error", onError);
    sock.bind({ port, address, exclusive: false }, () => {
      sock.off("error", onError);
      resolve();
    });
  });
}

/** A receiving socket of the room and the channel it hears. */
interface Receiver {
  sock: dgram.Socket;
  port: number;
  channel: Channel;
  joined: boolean;
}

/**
 * Open the room. Receiving sockets, each bound with SO_REUSEADDR (so any number of
 * copies, and legacy programs, share the port) and joined to the group: the room port P
 * (legacy text) and, unless `raw`, the companion port P+1 (frames). One separate
 * sending socket with TTL, loopback and outgoing interface set sends both channels, so
 * frames and bridged legacy text come from one source address:port.
 */
export async function openUdpTransport(opts: UdpTransportOptions): Promise<UdpTransport> {
  const raw = opts.raw === true;
  if (!raw && opts.port >= MAX_PORT) {
    throw new UserError(
      `port ${opts.port}: a framed room also uses port ${framedPort(opts.port)}, which does not exist; use --raw or a lower port`,
      2,
    );
  }
  let handler: (d: Datagram) => void = () => {};
  let errorHandler: (err: Error) => void = () => {};
  // Always an 'error' listener: an unhandled socket error would kill the process.
  const onSocketError = (err: Error) => errorHandler(err);
  const make = (reuseAddr: boolean) => {
    const s = dgram.createSocket({ type: "udp4", reuseAddr });
    s.on("error", onSocketError);
    return s;
  };
  const receivers: Receiver[] = [
    { sock: make(true), port: opts.port, channel: "legacy", joined: false },
  ];
  if (!raw) {
    receivers.push({
      sock: make(true),
      port: framedPort(opts.port),
      channel: "framed",
      joined: false,
    });
  }
  const send = make(false);
  const all = [...receivers.map((r) => r.sock), send];
  let closed = false;

  const dropMemberships = () => {
    for (const r of receivers) {
      if (!r.joined) continue;
      r.joined = false;
      try {
        if (opts.interfaceAddress) r.sock.dropMembership(opts.group, opts.interfaceAddress);
        else r.sock.dropMembership(opts.group);
      } catch {}
    }
  };
  const closeAll = () => {
    dropMemberships();
    for (const s of all) {
      try {
        s.close();
      } catch {}
    }
  };

  try {
    // Linux: binding to the group address keeps out other groups joined on this port
    // (IP_MULTICAST_ALL). Windows cannot bind a multicast address.
    const bindAddr = process.platform === "win32" ? undefined : opts.group;
    for (const r of receivers) {
      const what =
        r.channel === "framed"
          ? `bind UDP port ${r.port} (the framed companion of room port ${opts.port})`
          : `bind UDP port ${r.port}`;
      await bindSocket(r.sock, r.port, bindAddr).catch((e) => {
        throw explain(e, what);
      });
      try {
        if (opts.interfaceAddress) r.sock.addMembership(opts.group, opts.interfaceAddress);
        else r.sock.addMembership(opts.group);
        r.joined = true;
      } catch (e) {
        throw explain(e, `join group ${opts.group}`);
      }
    }
    await bindSocket(send, 0, opts.interfaceAddress).catch((e) => {
      throw explain(e, "open the sending socket");
    });
    try {
      if (opts.interfaceAddress) send.setMulticastInterface(opts.interfaceAddress);
      send.setMulticastTTL(opts.ttl);
      send.setMulticastLoopback(opts.loopback);
    } catch (e) {
      throw explain(e, "set multicast options");
    }
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

  const sendPort = send.address().port;
  const local = new Set(opts.localAddresses ?? []);
  for (const r of receivers) {
    const channel = r.channel;
    r.sock.on("message", (msg, rinfo) => {
      if (closed) return;
      const self = rinfo.port === sendPort && local.has(rinfo.address);
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

  return {
    sendPort,
    recvBufferSize,
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
          if (err) reject(err);
          else resolve();
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      closeAll();
      // A send cut off by the close may never call back: no exit path waits on it.
      for (const reject of inFlight) reject(new Error("transport closed"));
      inFlight.clear();
    },
  };
}
