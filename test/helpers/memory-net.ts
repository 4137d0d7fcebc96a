import type { Channel, Datagram, Transport } from "../../src/net/transport.ts";
import type { Scheduler } from "../../src/session/scheduler.ts";

/**
 * An in-memory multicast room for session tests, with the two ports of a real room
 * (src/net/transport.ts Channel): every transport attached to a hub hears the datagrams
 * sent by the others (and its own, flagged `self`, when loopback is on), asynchronously,
 * with optional per-receiver loss. A framed transport (the default) hears both channels,
 * each datagram tagged with the channel it came on; a raw one (`attach(…, { raw: true })`,
 * a legacy program or `--raw` member) hears only "legacy", and whatever it sends goes
 * out as "legacy" (it has only the room port).
 */
export class MemoryHub {
  private readonly members = new Set<MemoryTransport>();
  private nextPort = 40000;

  /**
   * With a scheduler (a VirtualClock), each copy is delivered `latencyMs()` later on that
   * clock (default 0.3-1.3 ms); without one, in a microtask.
   */
  constructor(
    private readonly timing: {
      scheduler?: Scheduler;
      latencyMs?: () => number;
      /** Keep every datagram sent in `sent` (default true; a long simulation taps `onSent`). */
      keepSent?: boolean;
    } = {},
  ) {}
  /** Drop decision per (receiver, datagram); default: deliver everything. */
  drop: (to: MemoryTransport, d: Datagram) => boolean = () => false;
  /** Every datagram sent, in order; `at` = the scheduler's time when sent (if it has one). */
  readonly sent: { from: MemoryTransport; data: Uint8Array; channel: Channel; at?: number }[] = [];
  /** Told of every datagram sent, before its copies go out (counting without keeping). */
  onSent: (from: MemoryTransport, data: Uint8Array, channel: Channel) => void = () => {};

  attach(
    address = "198.18.0.1",
    opts: { loopback?: boolean; raw?: boolean } = {},
  ): MemoryTransport {
    const t = new MemoryTransport(
      this,
      address,
      this.nextPort++,
      opts.loopback ?? true,
      opts.raw ?? false,
    );
    this.members.add(t);
    return t;
  }

  detach(t: MemoryTransport): void {
    this.members.delete(t);
  }

  deliver(from: MemoryTransport, data: Uint8Array, channel: Channel = "framed"): void {
    const on: Channel = from.raw ? "legacy" : channel;
    if (this.timing.keepSent !== false) {
      this.sent.push({ from, data, channel: on, at: this.timing.scheduler?.now() });
    }
    this.onSent(from, data, on);
    for (const m of this.members) {
      const self = m === from;
      if (self && !from.loopback) continue;
      if (m.raw && on !== "legacy") continue;
      const d: Datagram = {
        data: data.slice(),
        address: from.address,
        port: from.port,
        self,
        channel: on,
      };
      if (!self && this.drop(m, d)) continue;
      const sched = this.timing.scheduler;
      if (sched) {
        const latency = this.timing.latencyMs?.() ?? 0.3 + Math.random();
        sched.at(sched.now() + latency, () => m.receive(d));
      } else {
        queueMicrotask(() => m.receive(d));
      }
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
    /** Only the room port: hears "legacy" only, sends everything as "legacy". */
    readonly raw = false,
  ) {}

  onDatagram(handler: (d: Datagram) => void): void {
    this.handler = handler;
  }

  receive(d: Datagram): void {
    if (!this.closed) this.handler(d);
  }

  async send(data: Uint8Array, channel: Channel = "framed"): Promise<void> {
    if (this.closed) throw new Error("transport closed");
    if (data.length > 65507) throw Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
    this.hub.deliver(this, data, channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.detach(this);
  }
}
