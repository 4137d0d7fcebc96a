import type { Datagram, Transport } from "../net/transport.ts";
import { decodeText, encodeChunks, unencodableChars } from "../protocol/text-codec.ts";
import type { SessionEvent } from "./events.ts";

export interface SessionOptions {
  transport: Transport;
  /** Encoding of legacy (unframed) text on the wire. */
  encoding: string;
  /** Send legacy text datagrams instead of framed messages. */
  raw: boolean;
  nick: string;
  /** Clock, for tests. */
  now?: () => Date;
}

export interface SessionStats {
  sent: number;
  received: number;
  datagramsSent: number;
  datagramsReceived: number;
  /** Datagrams that could not be decoded (counted and dropped). */
  malformed: number;
}

/** Formats "address:port" (IPv6 in brackets). */
export function formatFrom(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Room state over a Transport. Emits SessionEvents; renders nothing.
 * Legacy peers: every datagram is one message of raw text in `encoding`.
 */
export class Session {
  readonly stats: SessionStats = {
    sent: 0,
    received: 0,
    datagramsSent: 0,
    datagramsReceived: 0,
    malformed: 0,
  };
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private readonly now: () => Date;
  private closed = false;

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? (() => new Date());
    opts.transport.onDatagram((d) => this.receive(d));
  }

  get nick(): string {
    return this.opts.nick;
  }

  /** Subscribe to events; returns an unsubscribe function. */
  on(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: SessionEvent): void {
    for (const l of this.listeners) l(e);
  }

  async start(): Promise<void> {}

  /**
   * Send one message. Characters the wire encoding cannot carry are reported as a
   * warning event (they go out as "?", as the legacy program would send them).
   */
  async send(text: string): Promise<void> {
    if (this.closed) throw new Error("session closed");
    const bad = unencodableChars(text, this.opts.encoding);
    if (bad.length > 0) {
      this.emit({
        type: "warning",
        time: this.now(),
        text: `${this.opts.encoding} cannot encode ${bad.map((c) => JSON.stringify(c)).join(" ")}; sent as "?"`,
      });
    }
    for (const chunk of encodeChunks(text, this.opts.encoding)) {
      await this.opts.transport.send(chunk);
      this.stats.datagramsSent++;
    }
    this.stats.sent++;
    this.emit({
      type: "message",
      time: this.now(),
      from: "self",
      text,
      self: true,
      nick: this.nick,
    });
  }

  private receive(d: Datagram): void {
    if (this.closed || d.self) return;
    this.stats.datagramsReceived++;
    this.stats.received++;
    this.emit({
      type: "message",
      time: this.now(),
      from: formatFrom(d.address, d.port),
      text: decodeText(d.data, this.opts.encoding),
      legacy: true,
    });
  }

  /** Leave: stop handling datagrams and close the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opts.transport.close();
  }
}
