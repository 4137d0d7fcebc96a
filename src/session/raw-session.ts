import { UserError } from "../errors.ts";
import type { Datagram } from "../net/transport.ts";
import { isFramed, randomInstanceId } from "../protocol/index.ts";
import { decodeText, encodeText, unencodableChars } from "../protocol/text-codec.ts";
import { EventOutlet, listenerFailure } from "./event-outlet.ts";
import { ownMessage, type SessionEvent } from "./events.ts";
import { CopyEncoding, GBK_RAW_NOTICE } from "./room/copy-encoding.ts";
import { legacyLine, legacyMessage, sendLegacyText } from "./room/legacy-text.ts";
import type { MemberInfo } from "./room-session.ts";
import {
  type DrainResult,
  formatFrom,
  type RoomSession,
  type SendResult,
  type SessionOptions,
} from "./room-session.ts";
import { emptyStats, type SessionStats } from "./stats.ts";

/**
 * Pure legacy mode (`--raw`): each message one plain-text datagram on the room port, as the
 * classic program does; frames are ignored, there is no presence, repair or history.
 */
export class RawSession implements RoomSession {
  readonly id: string;
  readonly framed = false;
  readonly encrypted = false;
  private readonly counters = emptyStats();
  private readonly events: EventOutlet;
  private readonly clock: () => number;
  private myNick: string;
  private closed = false;
  /** The encoding we send in: `-e`, or under "auto" what the room's programs are heard using. */
  private readonly sending: CopyEncoding;

  constructor(private readonly opts: SessionOptions) {
    this.events = new EventOutlet(opts.events, (err) =>
      this.events.emit({
        type: "warning",
        time: new Date(this.clock()),
        text: listenerFailure(err),
      }),
    );
    this.id = opts.id ?? randomInstanceId();
    this.clock = opts.clock ?? Date.now;
    this.myNick = opts.nick;
    this.sending = new CopyEncoding(opts.encoding);
    opts.transport.onDatagram((d) => this.receive(d));
  }

  get stats(): SessionStats {
    return {
      ...this.counters,
      recvBufferBytes: this.opts.transport.recvBufferSize ?? 0,
      listenerErrors: this.events.failures,
    };
  }

  get nick(): string {
    return this.myNick;
  }

  on(listener: (e: SessionEvent) => void): () => void {
    return this.events.on(listener);
  }

  members(): MemberInfo[] {
    return [];
  }

  async start(): Promise<void> {}

  async setNick(nick: string): Promise<void> {
    this.myNick = nick;
  }

  async send(text: string, opts: { action?: boolean } = {}): Promise<SendResult> {
    if (this.closed) throw new Error("session closed");
    if (this.opts.listen) throw new UserError("listen-only: not sending", 1);
    const warn = (t: string) => this.emit({ type: "warning", time: this.time(), text: t });
    const line = legacyLine(text, this.myNick, opts.action === true);
    const encoding = this.sending.current;
    this.counters.datagramsSent += await sendLegacyText(this.opts.transport, line, encoding, warn);
    this.counters.sent++;
    // The echo shows what the room received: a character the encoding cannot carry went as "?".
    const sent =
      unencodableChars(text, encoding).length > 0
        ? decodeText(encodeText(text, encoding), encoding)
        : text;
    this.emit(
      ownMessage({ text: sent, nick: this.myNick, action: opts.action === true }, this.time()),
    );
    return {
      id: this.id,
      stream: 0,
      fragments: 0,
      delivery: async () => ({ reached: [], missed: [] }),
    };
  }

  /** To the room's sink (if any) and to on() listeners. */
  private emit(e: SessionEvent): void {
    this.events.emit(e);
  }

  async drain(): Promise<DrainResult> {
    return { behind: [] };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opts.transport.close();
  }

  private time(): Date {
    return new Date(this.clock());
  }

  private receive(d: Datagram): void {
    if (this.closed) return;
    this.counters.datagramsReceived++;
    if (d.self || isFramed(d.data)) return;
    this.counters.received++;
    this.emit(legacyMessage(d, formatFrom(d.address, d.port), this.opts.encoding, this.time()));
    if (this.sending.heardFrom(d.data)) {
      this.emit({ type: "info", time: this.time(), text: GBK_RAW_NOTICE });
    }
  }
}
