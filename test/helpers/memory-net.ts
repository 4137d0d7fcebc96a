import type { Datagram, Transport } from "../../src/net/transport.ts";

/**
 * An in-memory multicast medium for session tests: every transport attached to a hub
 * hears every datagram sent by the others (and its own, flagged `self`, when loopback
 * is on), asynchronously, with optional per-receiver loss.
 */
export class MemoryHub {
  private readonly members = new Set<MemoryTransport>();
  private nextPort = 40000;
  /** Drop decision per (receiver, datagram); default: deliver everything. */
  drop: (to: MemoryTransport, d: Datagram) => boolean = () => false;
  readonly sent: { from: MemoryTransport; data: Uint8Array }[] = [];

  attach(address = "198.18.0.1", opts: { loopback?: boolean } = {}): MemoryTransport {
    const t = new MemoryTransport(this, address, this.nextPort++, opts.loopback ?? true);
    this.members.add(t);
    return t;
  }

  detach(t: MemoryTransport): void {
    this.members.delete(t);
  }

  deliver(from: MemoryTransport, data: Uint8Array): void {
    this.sent.push({ from, data });
    for (const m of this.members) {
      const self = m === from;
      if (self && !from.loopback) continue;
      const d: Datagram = { data: data.slice(), address: from.address, port: from.port, self };
      if (!self && this.drop(m, d)) continue;
      queueMicrotask(() => m.receive(d));
    }
  }
}

export class MemoryTransport implements Transport {
  private handler: (d: Datagram) => void = () => {};
  closed = false;

  constructor(
    private readonly hub: MemoryHub,
    readonly address: string,
    readonly port: number,
    readonly loopback: boolean,
  ) {}

  onDatagram(handler: (d: Datagram) => void): void {
    this.handler = handler;
  }

  receive(d: Datagram): void {
    if (!this.closed) this.handler(d);
  }

  async send(data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error("transport closed");
    if (data.length > 65507) throw Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
    this.hub.deliver(this, data);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.detach(this);
  }
}
