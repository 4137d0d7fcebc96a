import dgram from "node:dgram";
import { UserError } from "../errors.ts";
import type { Datagram, Transport } from "./transport.ts";

export interface UdpTransportOptions {
  group: string;
  port: number;
  /** IPv4 address of the interface to join and send on; undefined = system default. */
  interfaceAddress?: string;
  ttl: number;
  loopback: boolean;
  /** Receive buffer to ask the kernel for, in bytes. */
  recvBufferSize?: number;
  /** Local addresses of this host, to recognise our own looped-back datagrams. */
  localAddresses?: readonly string[];
}

export interface UdpTransport extends Transport {
  /** Source port of our sending socket. */
  readonly sendPort: number;
  /** Receive buffer the kernel actually gave (Linux reports twice the usable size). */
  readonly recvBufferSize: number;
  /** Socket errors after start-up go here (default: ignored). */
  onError(handler: (err: Error) => void): void;
}

function explain(err: unknown, what: string): UserError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  const hints: Record<string, string> = {
    EACCES: "permission denied",
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

/**
 * Open the group: a receiving socket bound to the group's port with SO_REUSEADDR (so
 * any number of copies, and legacy programs, share it), joined to the group, and a
 * separate sending socket with TTL, loopback and outgoing interface set.
 */
export async function openUdpTransport(opts: UdpTransportOptions): Promise<UdpTransport> {
  const recv = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const send = dgram.createSocket({ type: "udp4" });
  let handler: (d: Datagram) => void = () => {};
  let errorHandler: (err: Error) => void = () => {};
  let closed = false;
  let joined = false;
  const closeAll = () => {
    for (const s of [recv, send]) {
      try {
        s.close();
      } catch {}
    }
  };
  try {
    // Linux: binding to the group address keeps out other groups joined on this port
    // (IP_MULTICAST_ALL). Windows cannot bind a multicast address.
    const bindAddr = process.platform === "win32" ? undefined : opts.group;
    await bindSocket(recv, opts.port, bindAddr).catch((e) => {
      throw explain(e, `bind UDP port ${opts.port}`);
    });
    try {
      if (opts.interfaceAddress) recv.addMembership(opts.group, opts.interfaceAddress);
      else recv.addMembership(opts.group);
      joined = true;
    } catch (e) {
      throw explain(e, `join group ${opts.group}`);
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
  let recvBufferSize = 0;
  try {
    if (opts.recvBufferSize) recv.setRecvBufferSize(opts.recvBufferSize);
    recvBufferSize = recv.getRecvBufferSize();
  } catch {}

  const sendPort = send.address().port;
  const local = new Set(opts.localAddresses ?? []);
  recv.on("message", (msg, rinfo) => {
    const self = rinfo.port === sendPort && local.has(rinfo.address);
    handler({ data: new Uint8Array(msg), address: rinfo.address, port: rinfo.port, self });
  });
  for (const s of [recv, send]) s.on("error", (err) => errorHandler(err));

  return {
    sendPort,
    recvBufferSize,
    onDatagram(h) {
      handler = h;
    },
    onError(h) {
      errorHandler = h;
    },
    send(data) {
      return new Promise<void>((resolve, reject) => {
        if (closed) return reject(new Error("transport closed"));
        send.send(data, opts.port, opts.group, (err) => (err ? reject(err) : resolve()));
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (joined) {
        try {
          if (opts.interfaceAddress) recv.dropMembership(opts.group, opts.interfaceAddress);
          else recv.dropMembership(opts.group);
        } catch {}
      }
      closeAll();
    },
  };
}
