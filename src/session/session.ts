import { UserError } from "../errors.ts";
import type { Datagram, Transport } from "../net/transport.ts";
import {
  checkMessageSize,
  DecodeError,
  decode,
  encode,
  type Frame,
  fragmentText,
  isFramed,
  joinFragments,
  type MessageFrame,
  randomInstanceId,
  seqAdd,
} from "../protocol/index.ts";
import { decodeText, encodeChunks, unencodableChars } from "../protocol/text-codec.ts";
import type { SessionEvent } from "./events.ts";
import { HistoryCollector } from "./history.ts";
import { Peer, type PeerOutput } from "./peer.ts";
import type { WindowStats } from "./receiver-window.ts";
import { RoomLog } from "./room-log.ts";
import { SenderState } from "./sender.ts";
import { emptyStats, type SessionStats } from "./stats.ts";

export type { SessionStats } from "./stats.ts";

export interface SessionOptions {
  transport: Transport;
  /** Encoding of legacy (unframed) text, both ways. */
  encoding: string;
  /** Pure legacy mode: send raw text datagrams and no framed traffic at all. */
  raw: boolean;
  /** Receive only: presence and NACKs, but no messages of our own. */
  listen?: boolean;
  nick: string;
  /** Ambient heartbeat interval (ms); a member silent for 3 intervals has timed out. */
  heartbeatMs?: number;
  /** Ask the room for this many recent messages on start. */
  history?: number;
  /** How long to collect history answers (ms). */
  historyWaitMs?: number;
  /** Clock (ms since epoch) and randomness, for tests. */
  now?: () => number;
  random?: () => number;
  /** Instance id (tests); default random. */
  id?: string;
}

export interface MemberInfo {
  id: string;
  nick: string;
  from: string;
  lastSeen: number;
  self: boolean;
}

/** Formats "address:port" (IPv6 in brackets). */
export function formatFrom(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Timers never sleep longer than this (ms), so presence timeouts stay prompt. */
const MAX_SLEEP_MS = 250;
/**
 * A HISTORY_REQ is answered by one member: each waits a random time (members that hold
 * enough messages first) and stays quiet if it hears another member's answer meanwhile.
 */
const HISTORY_ANSWER_MS: [full: number, partial: number, spread: number] = [0, 60, 60];

/**
 * Room state over a Transport: members, per-sender ordered and repaired delivery,
 * fragments, history. Emits SessionEvents; renders nothing.
 */
export class Session {
  readonly id: string;
  private readonly counters: SessionStats = emptyStats();
  /** Window counters of peers already forgotten. */
  private readonly retired = { duplicates: 0, suppressed: 0 };
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly peers = new Map<string, Peer>();
  private readonly sender: SenderState;
  private readonly heartbeatMs: number;
  private readonly joinedAt: number;
  private history?: HistoryCollector;
  private readonly log = new RoomLog();
  private historyAnswer?: { at: number; count: number };
  private readonly answeredRequests = new Set<number>();
  private myNick: string;
  private closed = false;
  private started = false;
  private timer?: ReturnType<typeof setTimeout>;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly warnedVersion = new Set<string>();

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.id = opts.id ?? randomInstanceId();
    this.myNick = opts.nick;
    this.heartbeatMs = opts.heartbeatMs ?? 2000;
    this.joinedAt = this.now();
    this.sender = new SenderState({ now: this.now, ambientMs: this.heartbeatMs });
    opts.transport.onDatagram((d) => this.receive(d));
  }

  /** Counters, including the receive windows' duplicates and suppressed NACKs. */
  get stats(): SessionStats {
    let duplicates = this.retired.duplicates;
    let suppressed = this.retired.suppressed;
    for (const p of this.peers.values()) {
      const w: WindowStats | undefined = p.windowStats;
      duplicates += w?.duplicates ?? 0;
      suppressed += w?.suppressed ?? 0;
    }
    return {
      ...this.counters,
      duplicates,
      nacksSuppressed: suppressed,
      recvBufferBytes: this.opts.transport.recvBufferSize ?? 0,
    };
  }

  get nick(): string {
    return this.myNick;
  }

  get framed(): boolean {
    return !this.opts.raw;
  }

  /** Subscribe to events; returns an unsubscribe function. */
  on(listener: (e: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: SessionEvent): void {
    for (const l of this.listeners) l(e);
  }

  private time(): Date {
    return new Date(this.now());
  }

  private warn(text: string): void {
    this.emit({ type: "warning", time: this.time(), text });
  }

  /** Members present now, ourselves included (framed mode only). */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    if (this.framed) {
      out.push({ id: this.id, nick: this.myNick, from: "self", lastSeen: this.now(), self: true });
    }
    for (const p of this.peers.values()) {
      if (p.present) {
        out.push({ id: p.id, nick: p.nick, from: p.from, lastSeen: p.lastSeen, self: false });
      }
    }
    return out;
  }

  /** Announce ourselves, start heartbeats and timers, ask for history. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.framed) return;
    await this.sendControl("hello");
    this.sender.started();
    const n = this.opts.history ?? 0;
    if (n > 0) {
      const requestId = Math.floor(this.random() * 2 ** 32) >>> 0;
      this.history = new HistoryCollector(n, this.now() + (this.opts.historyWaitMs ?? 700));
      await this.sendFrame({
        type: "history_req",
        id: this.id,
        seq: this.sender.tail,
        count: n,
        requestId,
      });
    }
    this.rearm();
  }

  /** Change our nickname; announced at once with a heartbeat. */
  async setNick(nick: string): Promise<void> {
    const old = this.myNick;
    this.myNick = nick;
    if (old !== nick && this.framed && this.started) {
      this.sender.scheduleSoon(0);
      this.rearm();
    }
  }

  /**
   * Send one message. Legacy: characters the wire encoding cannot carry are reported
   * as a warning (they go out as "?"). Framed: longer than 64 KiB -> UserError, nothing sent.
   */
  async send(text: string, opts: { action?: boolean } = {}): Promise<void> {
    if (this.closed) throw new Error("session closed");
    if (this.opts.listen) throw new UserError("listen-only: not sending", 1);
    if (!this.framed) {
      await this.sendLegacy(opts.action ? `* ${this.myNick} ${text}` : text);
    } else {
      await this.sendFramed(text, opts.action === true);
    }
    this.counters.sent++;
    this.emit({
      type: "message",
      time: this.time(),
      from: "self",
      text,
      self: true,
      nick: this.myNick,
      id: this.framed ? this.id : undefined,
      action: opts.action || undefined,
    });
  }

  private async sendLegacy(text: string): Promise<void> {
    const bad = unencodableChars(text, this.opts.encoding);
    if (bad.length > 0) {
      const list = bad.map((c) => JSON.stringify(c)).join(" ");
      this.warn(`${this.opts.encoding} cannot encode ${list}; sent as "?"`);
    }
    for (const chunk of encodeChunks(text, this.opts.encoding)) {
      await this.opts.transport.send(chunk);
      this.counters.datagramsSent++;
    }
  }

  private async sendFramed(text: string, action: boolean): Promise<void> {
    try {
      checkMessageSize(text);
    } catch (e) {
      throw new UserError(`${(e as Error).message}; nothing was sent`, 1);
    }
    const parts = fragmentText(text);
    const time = this.now();
    const first = this.sender.allocate(parts.length);
    const frames: MessageFrame[] = [];
    for (let i = 0; i < parts.length; i++) {
      const frame: MessageFrame = {
        type: "message",
        id: this.id,
        seq: seqAdd(first, i),
        nick: this.myNick,
        time,
        fragIndex: i,
        fragCount: parts.length,
        action,
        repair: false,
        history: false,
        payload: parts[i] as Uint8Array,
      };
      this.sender.remember(frame);
      frames.push(frame);
      await this.sendFrame(frame);
    }
    this.log.add(frames);
    this.sender.messageSent();
    this.rearm();
  }

  private async sendFrame(frame: Frame): Promise<void> {
    try {
      await this.opts.transport.send(encode(frame));
      this.counters.datagramsSent++;
    } catch (e) {
      if (this.closed) return;
      throw e;
    }
  }

  private sendControl(type: "hello" | "heartbeat" | "bye"): Promise<void> {
    return this.sendFrame({
      type,
      id: this.id,
      seq: this.sender.tail,
      nick: this.myNick,
      started: this.joinedAt,
    });
  }

  private fire(p: Promise<unknown>): void {
    p.catch((e) => {
      if (!this.closed) this.warn(`send failed: ${(e as Error).message}`);
    });
  }

  // ---- receiving -------------------------------------------------------------

  private receive(d: Datagram): void {
    if (this.closed) return;
    this.counters.datagramsReceived++;
    if (!isFramed(d.data)) {
      if (d.self) return;
      this.counters.received++;
      this.emit({
        type: "message",
        time: this.time(),
        from: formatFrom(d.address, d.port),
        text: decodeText(d.data, this.opts.encoding),
        legacy: true,
      });
      return;
    }
    let frame: Frame;
    try {
      frame = decode(d.data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      const key = `${d.address}:${d.port}`;
      if (
        (e.reason === "unsupported-version" || e.reason === "unknown-type") &&
        !this.warnedVersion.has(key) &&
        this.warnedVersion.size < 256
      ) {
        this.warnedVersion.add(key);
        this.warn(`ignoring frames from ${key} (${e.message}; a newer mcchat?)`);
      }
      return;
    }
    if (frame.id === this.id) return; // our own, looped back
    if (this.opts.raw) return; // pure legacy mode ignores the framed room
    this.handleFrame(frame, formatFrom(d.address, d.port));
  }

  private peerFor(frame: Frame, from: string): Peer {
    let p = this.peers.get(frame.id);
    if (!p) {
      p = new Peer(frame.id, from, {
        now: this.now,
        random: this.random,
        joinedAt: this.joinedAt,
      });
      this.peers.set(frame.id, p);
    }
    p.from = from;
    p.lastSeen = this.now();
    return p;
  }

  private announce(p: Peer, nick: string): void {
    if (!p.present) {
      p.present = true;
      p.nick = nick;
      this.emit({ type: "join", time: this.time(), from: p.from, nick, id: p.id });
    } else if (p.nick !== nick) {
      const old = p.nick;
      p.nick = nick;
      this.emit({ type: "nick", time: this.time(), from: p.from, nick, id: p.id, old });
    }
  }

  private handleFrame(frame: Frame, from: string): void {
    switch (frame.type) {
      case "hello":
      case "heartbeat":
      case "bye": {
        const p = this.peerFor(frame, from);
        if (p.gone && p.leftBy === "timeout" && frame.type !== "bye") p.gone = false; // back again
        if (!p.gone) this.announce(p, frame.nick);
        this.deliver(p, p.onControl(frame.started, frame.seq));
        if (frame.type === "hello" && this.started && !p.gone) {
          // A newcomer: let it hear us soon (it learns our nick, start and tail).
          this.sender.scheduleSoon(this.random() * 200);
        }
        if (frame.type === "bye") this.leave(p, "bye");
        break;
      }
      case "message": {
        if (frame.history) {
          this.history?.add(frame);
          this.historyAnswer = undefined; // someone answered: ours is not needed
          return;
        }
        const p = this.peerFor(frame, from);
        if (!p.gone) this.announce(p, frame.nick);
        if (frame.repair) this.counters.repairsReceived++;
        this.deliver(p, p.onMessage(frame));
        break;
      }
      case "nack": {
        this.counters.nacksHeard++;
        if (frame.target === this.id) {
          this.sender.onNack(frame.ranges);
        } else {
          this.peers.get(frame.target)?.onNackHeard(frame.ranges);
        }
        // The header seq is the requester's own tail.
        const q = this.peers.get(frame.id);
        if (q) this.deliver(q, q.onTail(frame.seq));
        break;
      }
      case "gone": {
        const p = this.peers.get(frame.id);
        if (p) this.deliver(p, p.onGone(frame.seq, frame.ranges));
        break;
      }
      case "history_req": {
        this.peerFor(frame, from);
        this.onHistoryRequest(frame.count, frame.requestId);
        break;
      }
    }
    this.rearm();
  }

  /** Turn a peer's in-order deliveries (whole messages) and losses into events. */
  private deliver(p: Peer, out: PeerOutput): void {
    for (const item of out.items) {
      if (item.kind === "lost") {
        this.counters.lost += item.count;
        this.emit({
          type: "lost",
          time: this.time(),
          from: p.from,
          nick: p.nick,
          id: p.id,
          count: item.count,
        });
        continue;
      }
      if (this.emitMessage(item.parts, p.from, false)) this.counters.received++;
    }
  }

  /** One whole framed message as an event (and into the room log); false if unreadable. */
  private emitMessage(parts: MessageFrame[], from: string, history: boolean): boolean {
    const head = parts[0] as MessageFrame;
    let text: string;
    try {
      text = joinFragments(parts.map((f) => f.payload));
    } catch {
      this.counters.malformed++;
      return false;
    }
    this.log.add(parts);
    this.emit({
      type: "message",
      time: new Date(head.time),
      from,
      text,
      nick: head.nick,
      id: head.id,
      seq: head.seq,
      action: head.action || undefined,
      history: history || undefined,
    });
    return true;
  }

  /**
   * A member left. After BYE its missing tail still gets a short grace for repairs in
   * flight (the peer's poll gives up then); after a timeout it is lost at once.
   */
  private leave(p: Peer, reason: "bye" | "timeout"): void {
    if (!p.gone) {
      p.gone = true;
      p.leftBy = reason;
      if (p.present) {
        p.present = false;
        this.emit({
          type: "leave",
          time: this.time(),
          from: p.from,
          nick: p.nick,
          id: p.id,
          reason,
        });
      }
    }
    if (reason === "timeout") this.deliver(p, p.giveUp());
    else p.byeAt ??= this.now();
  }

  // ---- timers ----------------------------------------------------------------

  /** Someone joined and asks for history: answer once, unless another member does first. */
  private onHistoryRequest(count: number, requestId: number): void {
    if (this.answeredRequests.has(requestId) || this.log.size === 0) return;
    if (this.answeredRequests.size > 1000) this.answeredRequests.clear();
    this.answeredRequests.add(requestId);
    const [full, partial, spread] = HISTORY_ANSWER_MS;
    const wait = (this.log.size >= count ? full : partial) + this.random() * spread;
    this.historyAnswer = { at: this.now() + wait, count };
  }

  /** Sleep until the earliest timer of any peer, the sender or the history wait. */
  private rearm(): void {
    if (this.closed || !this.framed || !this.started) return;
    const now = this.now();
    const timeout = this.heartbeatMs * 3;
    let at = Math.min(this.sender.nextDeadline(), now + MAX_SLEEP_MS);
    for (const p of this.peers.values()) {
      const d = p.nextDeadline();
      if (d !== undefined && d < at) at = d;
      if (!p.gone && p.lastSeen + timeout < at) at = p.lastSeen + timeout + 1;
    }
    if (this.history) at = Math.min(at, this.history.deadline);
    if (this.historyAnswer) at = Math.min(at, this.historyAnswer.at);
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.tick();
      },
      Math.max(0, at - now),
    );
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.now();
    const timeout = this.heartbeatMs * 3;
    for (const p of this.peers.values()) {
      if (!p.gone && now - p.lastSeen > timeout) this.leave(p, "timeout");
      const work = p.poll();
      this.deliver(p, work);
      for (const ranges of work.nacks) {
        this.counters.nacksSent++;
        this.fire(
          this.sendFrame({
            type: "nack",
            id: this.id,
            seq: this.sender.tail,
            target: p.id,
            ranges,
          }),
        );
      }
      // Forget departed instances after a while.
      if (p.gone && p.byeAt === undefined && now - p.lastSeen > timeout * 4) {
        const w = p.windowStats;
        this.retired.duplicates += w?.duplicates ?? 0;
        this.retired.suppressed += w?.suppressed ?? 0;
        this.peers.delete(p.id);
      }
    }
    const out = this.sender.poll();
    for (const f of out.repairs) {
      this.counters.repairsSent++;
      this.fire(this.sendFrame(f));
    }
    if (out.gone.length > 0) {
      this.fire(
        this.sendFrame({ type: "gone", id: this.id, seq: this.sender.tail, ranges: out.gone }),
      );
    }
    if (this.historyAnswer && now >= this.historyAnswer.at) {
      const { count } = this.historyAnswer;
      this.historyAnswer = undefined;
      for (const parts of this.log.recent(count)) {
        for (const f of parts) this.fire(this.sendFrame({ ...f, history: true, repair: false }));
      }
    }
    if (out.heartbeat) this.fire(this.sendControl("heartbeat"));
    if (this.history?.due(now)) {
      const h = this.history;
      this.history = undefined;
      for (const parts of h.result()) {
        const id = (parts[0] as MessageFrame).id;
        this.emitMessage(parts, this.peers.get(id)?.from ?? "", true);
      }
    }
    this.rearm();
  }

  /**
   * Pipe mode, after input EOF: stay until our last messages can be repaired — no NACK
   * for our data during `quietMs` — bounded by `maxMs`.
   */
  async drain(quietMs = 1000, maxMs = 15000): Promise<void> {
    if (!this.framed || this.closed) return;
    const deadline = this.now() + maxMs;
    while (!this.closed && this.now() < deadline) {
      if (this.now() - this.sender.lastActivity >= quietMs) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Say BYE, leave the group and close the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.framed && this.started) {
      await this.sendControl("bye").catch(() => {});
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.opts.transport.close();
  }
}
