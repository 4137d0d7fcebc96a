import { UserError } from "../errors.ts";
import type { Datagram } from "../net/transport.ts";
import {
  checkMessageSize,
  encode,
  type Frame,
  fragmentBody,
  HEADER_LENGTH,
  joinBody,
  joinFragments,
  RecordKind as Kind,
  MAX_RUNS,
  type RecordFrame,
  randomInstanceId,
  seqAdd,
  type TextRecord,
} from "../protocol/index.ts";
import { EventOutlet, listenerFailure } from "./event-outlet.ts";
import type { SessionEvent } from "./events.ts";
import type {
  Feature,
  FrameHandlers,
  Hooks,
  Outgoing,
  RecordKind,
  Services,
  SessionContext,
} from "./feature.ts";
import { DEFAULT_FEATURES } from "./features.ts";
import { DEFAULT_HEARTBEAT_MS } from "./heartbeat.ts";
import { RawSession } from "./raw-session.ts";
import type { Fragment, InboundItem, InboundStream } from "./receiving/inbound-stream.ts";
import { DatagramIntake } from "./room/datagram-intake.ts";
import type { Peer } from "./room/peer.ts";
import { PeerTable } from "./room/peer-table.ts";
import type {
  DrainResult,
  MemberInfo,
  RoomSession,
  SendResult,
  SessionOptions,
} from "./room-session.ts";
import { Alarm, type Scheduler, systemScheduler } from "./scheduler.ts";
import { type WatchedTransport, watchSends } from "./send-trouble.ts";
import { confirmed, DRAIN_MAX_MS, DRAIN_MIN_AGE_MS, membersBehind } from "./sending/drain-rule.ts";
import { SMALL_ROOM_MAX } from "./sending/flow-control.ts";
import { OutboundStream } from "./sending/outbound-stream.ts";
import type { StreamFrame } from "./sending/repair-buffer.ts";
import { emptyStats, type SessionStats } from "./stats.ts";

export type {
  DeliveryState,
  DrainResult,
  MemberInfo,
  RoomSession,
  SendResult,
  SessionOptions,
} from "./room-session.ts";
export { formatFrom } from "./room-session.ts";
export { DRAIN_MAX_MS } from "./sending/drain-rule.ts";
export type { SessionStats } from "./stats.ts";

/** The room as the options say: framed (the default) or pure legacy (`raw`). */
export function createSession(opts: SessionOptions): RoomSession {
  return opts.raw ? new RawSession(opts) : new Session(opts);
}

/**
 * A sender lets the event loop run received datagrams at least every this many sends. Input
 * that is always ready (a file on stdin) never makes send() wait on I/O, and without this its
 * own socket would never be read: no reports, no NACKs, no flow control (seen: 100,000 lines
 * from a file, 0 reports heard).
 */
const YIELD_EVERY_SENDS = 16;
/** A sender waiting for reports sends a REPORT-WANTED heartbeat this soon (ms). */
const WANT_REPORT_SOON_MS = 25;
/** Encoded bytes of a RECORD besides its payload, at most (for the window before its runs are known). */
const RECORD_OVERHEAD = HEADER_LENGTH + 7 + 2 * MAX_RUNS;

/**
 * A framed room over a Transport (PROTOCOL.md): a set of features (features.ts) that register
 * the record kinds they read, the frames they handle, their deadlines and counters. This class
 * only routes: datagrams to the features' frame handlers (after the origin rule), timers to
 * their tick, delivered records to their kinds, our records into our streams. Emits
 * SessionEvents; renders nothing.
 */
export class Session implements RoomSession {
  readonly id: string;
  readonly framed = true;
  private readonly ctx: SessionContext;
  private readonly features: Feature[];
  private readonly kinds = new Map<number, RecordKind>();
  private readonly handlers = new Map<string, ((f: Frame, p: Peer) => void)[]>();
  private readonly events: EventOutlet;
  private readonly alarm: Alarm;
  private readonly scheduler: Scheduler;
  private readonly counters: SessionStats = emptyStats();
  private readonly outbound = new Map<number | "v1", OutboundStream<StreamFrame>>();
  private readonly intake: DatagramIntake;
  private closed = false;
  private started = false;
  private draining = false;
  private waiters: (() => void)[] = [];
  private sendsSinceYield = 0;
  private myNick: string;
  /** When we took our nick (monotonic ms): at start, then at each change. */
  private myNickSince: number;
  /** The options, with the transport watched for sends failing while the link is down. */
  private readonly opts: SessionOptions & { transport: WatchedTransport };

  constructor(options: SessionOptions) {
    this.events = new EventOutlet(options.events, (err) => this.warn(listenerFailure(err)));
    this.scheduler = options.scheduler ?? systemScheduler;
    // Sends the link could not carry are lost like on the wire (repairs bring them): said
    // once when they start failing and once when they work again, not once per frame.
    const transport = watchSends(options.transport, {
      now: () => this.scheduler.now(),
      say: (text) => this.warn(text),
    });
    const opts = { ...options, transport };
    this.opts = opts;
    this.id = opts.id ?? randomInstanceId();
    this.myNick = opts.nick;
    const clock = opts.clock ?? Date.now;
    const random = opts.random ?? Math.random;
    const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const startedAt = this.scheduler.now();
    // After every member already there (peer-table.ts: just before our join), before anyone
    // who comes later.
    this.myNickSince = opts.joinedAt ?? startedAt;
    /** A member silent this long has timed out; one whose report stalls this long stops holding us. */
    const timeoutMs = heartbeatMs * 3;
    const now = () => this.scheduler.now();
    const time = () => new Date(clock());
    const emit = (e: SessionEvent) => this.emit(e);
    const peers = new PeerTable(
      {
        now,
        random,
        joinedAt: opts.joinedAt ?? startedAt,
        // N̂ for the NACK back-off of every stream we receive (asked when a gap is found).
        window: { roomSize: () => this.ctx.roomSize() },
        reads: (kind) => this.kinds.has(kind),
        readsStream: (n) => this.readStreams.has(n),
      },
      timeoutMs,
      emit,
      time,
    );
    const hooks: Hooks = {
      beforeSend: [],
      sent: [],
      delivered: [],
      presenceSent: [],
      framedFrom: [],
      announced: [],
      left: [],
      forgotten: [],
      advanced: [],
    };
    peers.onForget = (id) => {
      for (const h of hooks.forgotten) h(id);
    };
    const services: Services = {};
    const self = this;
    this.ctx = {
      id: this.id,
      opts,
      transport: opts.transport,
      scheduler: this.scheduler,
      startedAt,
      heartbeatMs,
      get nick() {
        return self.myNick;
      },
      set nick(n: string) {
        self.myNick = n;
      },
      get started() {
        return self.started;
      },
      get closed() {
        return self.closed;
      },
      get draining() {
        return self.draining;
      },
      get cannotSend() {
        return transport.failing;
      },
      now,
      roomSize: () => peers.roomSize(),
      time,
      random,
      peers,
      counters: this.counters,
      hooks,
      services,
      someMayNotRead: (kind) => this.someMayNotRead(kind),
      get readKinds() {
        return [...self.kinds.keys()];
      },
      streamOptions: { now, startedAt, stallMs: timeoutMs, window: opts.window },
      outbound: (n) => this.outboundStream(n),
      outboundStreams: this.outbound,
      send: (f) => this.sendFrame(f),
      fire: (f) => this.fire(this.sendFrame(f)),
      emit,
      warn: (text) => this.warn(text),
      deliver: (p, s, items) => this.deliver(p, s, items),
      leave: (p, reason) => this.leave(p, reason),
      wake: () => this.wake(),
      waitForRoom: (out, fragments, bytes) => this.waitForRoom(out, fragments, bytes),
      rearm: () => this.rearm(),
      sink: this.events.pacing,
    };
    this.intake = new DatagramIntake(
      () => this.counters.malformed++,
      (t) => this.warn(t),
    );
    this.features = (opts.features ?? DEFAULT_FEATURES).map((make) => make(this.ctx));
    for (const f of this.features) {
      for (const k of f.kinds ?? []) {
        if (this.kinds.has(k.code)) throw new RangeError(`record kind ${k.code} registered twice`);
        this.kinds.set(k.code, k);
      }
      for (const [type, h] of Object.entries(f.frames ?? {}) as [string, FrameHandlers[never]][]) {
        const list = this.handlers.get(type) ?? [];
        list.push(h as (f: Frame, p: Peer) => void);
        this.handlers.set(type, list);
      }
    }
    this.readStreams = new Set([...this.kinds.values()].map((k) => k.stream));
    opts.transport.security?.onWarning((text) => this.warn(text));
    this.alarm = new Alarm(this.scheduler, () => this.tick());
    opts.transport.onDatagram((d) => this.receive(d));
  }

  /** Streams we read (any kind of ours travels in them); records in others are ignored. */
  private readonly readStreams: Set<number>;

  /** Counters: the session's own and every feature's. */
  get stats(): SessionStats {
    const s: SessionStats = { ...this.counters };
    for (const f of this.features) Object.assign(s, f.stats?.());
    return {
      ...s,
      ...this.opts.transport.security?.counters(),
      holdRefused: this.ctx.peers.budget.refused,
      listenerErrors: this.events.failures,
      recvBufferBytes: this.opts.transport.recvBufferSize ?? 0,
    };
  }

  get nick(): string {
    return this.myNick;
  }

  /** The room is encrypted (a passphrase): every frame sealed, nothing sent as plaintext. */
  get encrypted(): boolean {
    return this.opts.transport.security?.encrypted === true;
  }

  on(listener: (e: SessionEvent) => void): () => void {
    return this.events.on(listener);
  }

  /** Members present now, ourselves included; `lastSeen` in wall-clock ms. */
  members(): MemberInfo[] {
    const now = this.scheduler.now();
    const wall = this.ctx.time().getTime();
    const self = {
      id: this.id,
      nick: this.myNick,
      from: "self",
      lastSeen: wall,
      self: true,
      nickSince: this.myNickSince,
    };
    return [
      self,
      ...this.ctx.peers.present().map((m) => ({ ...m, lastSeen: wall - (now - m.lastSeen) })),
    ];
  }

  /** Announce ourselves, start heartbeats and timers (the features' start, in order). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const f of this.features) await f.start?.();
    this.rearm();
  }

  /** Change our nickname; announced at once with a heartbeat. */
  async setNick(nick: string): Promise<void> {
    const old = this.myNick;
    this.myNick = nick;
    if (old !== nick) this.myNickSince = this.scheduler.now();
    if (old !== nick && this.started) {
      this.ctx.services.heartbeatSoon?.(0);
      this.rearm();
    }
  }

  /**
   * Send one message: longer than 64 KiB -> UserError, nothing sent. Waits while the
   * flow-control window is full (a member is behind).
   */
  async send(text: string, opts: { action?: boolean } = {}): Promise<SendResult> {
    try {
      checkMessageSize(text);
    } catch (e) {
      throw new UserError(`${(e as Error).message}; nothing was sent`, 1);
    }
    const value: TextRecord = {
      action: opts.action === true,
      nick: this.myNick,
      time: Math.floor(this.ctx.time().getTime()),
      text,
    };
    return this.sendRecord(Kind.text, value);
  }

  /**
   * Send one record of a registered kind (by its code) in its stream: its fragments get consecutive seqs once
   * the stream's flow-control window has room (the wait is per stream: bulk data never holds up
   * the conversation). Resolves when it has gone out.
   */
  async sendRecord(code: number, value: unknown): Promise<SendResult> {
    if (this.closed) throw new Error("session closed");
    if (this.opts.listen) throw new UserError("listen-only: not sending", 1);
    const kind = this.kinds.get(code);
    if (!kind) throw new RangeError(`record kind ${code} is not registered`);
    const payloads = fragmentBody(kind.encode(value));
    let bytes = 0;
    for (const p of payloads) bytes += p.length + RECORD_OVERHEAD;
    const outgoing: Outgoing = { kind, value, fragments: payloads.length, bytes };
    if (++this.sendsSinceYield >= YIELD_EVERY_SENDS) {
      this.sendsSinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const h of this.ctx.hooks.beforeSend) {
      const wait = h(outgoing);
      if (wait) await wait;
    }
    const out = this.outboundStream(kind.stream);
    await this.waitForRoom(out, payloads.length, bytes);
    if (this.closed) throw new Error("session closed");
    const { first, runs } = out.allocate(
      payloads.length,
      kind.code,
      this.someMayNotRead(kind.code),
    );
    const frames: RecordFrame[] = payloads.map((payload, i) => ({
      type: "record",
      id: this.id,
      seq: seqAdd(first, i),
      stream: kind.stream,
      kind: kind.code,
      fragIndex: i,
      fragCount: payloads.length,
      repair: false,
      history: false,
      runs: runs[i] ?? [],
      payload,
    }));
    const datagrams = frames.map((f) => encode(f));
    for (let i = 0; i < frames.length; i++) {
      out.sent(frames[i] as RecordFrame, (datagrams[i] as Uint8Array).length);
    }
    // Not awaited one by one: the socket queues them in order, and waiting for each send's
    // callback before the next line halved a pipe's rate. The flow-control window bounds
    // what can be queued; a failure is reported as a warning (the data stays repairable).
    for (const d of datagrams) this.fire(this.sendDatagram(d));
    const last = seqAdd(first, frames.length - 1);
    const result: SendResult = {
      id: this.id,
      stream: kind.stream,
      seq: first,
      fragments: frames.length,
      delivery: () => out.delivery(last, this.scheduler.now()),
    };
    for (const h of this.ctx.hooks.sent) h(outgoing, result);
    kind.sent?.(value, result);
    this.rearm();
    return result;
  }

  /** Our stream `n` as a sender (made on first use). */
  private outboundStream(n: number): OutboundStream<RecordFrame> {
    let s = this.outbound.get(n) as OutboundStream<RecordFrame> | undefined;
    if (!s) {
      s = new OutboundStream<RecordFrame>(this.ctx.streamOptions);
      this.outbound.set(n, s);
    }
    return s;
  }

  /** Whether some present member may not read `kind` (it did not say it does). */
  private someMayNotRead(kind: number): boolean {
    for (const p of this.ctx.peers.values()) {
      if (p.present && p.wire !== "1.0" && !p.kinds?.has(kind)) return true;
    }
    return false;
  }

  /** Until the stream's window has room for this record (or we close). */
  private async waitForRoom(
    out: OutboundStream<StreamFrame>,
    fragments: number,
    bytes: number,
  ): Promise<void> {
    while (!this.closed && !out.flow.hasRoom(fragments, bytes)) {
      this.counters.flowWaits++;
      this.askForReports([out]);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Wake everything waiting on flow control (a report, a member gone, closing). */
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  /**
   * A question on these streams ("who has not reached our tail?", PROTOCOL.md §13.3), carried
   * by a heartbeat with REPORT-WANTED soon: members tell us where they are.
   */
  private askForReports(streams: Iterable<OutboundStream<StreamFrame>>): void {
    if (!this.started || this.closed) return;
    for (const out of streams) this.ctx.services.askReports?.(out, WANT_REPORT_SOON_MS);
    this.ctx.services.heartbeatSoon?.(WANT_REPORT_SOON_MS);
    this.rearm();
  }

  private sendFrame(frame: Frame): Promise<void> {
    return this.sendDatagram(encode(frame));
  }

  private async sendDatagram(data: Uint8Array): Promise<void> {
    try {
      await this.opts.transport.send(data, "framed");
      this.counters.datagramsSent++;
    } catch (e) {
      if (this.closed) return;
      throw e;
    }
  }

  private fire(p: Promise<unknown>): void {
    p.catch((e) => {
      if (!this.closed) this.warn(`send failed: ${(e as Error).message}`);
    });
  }

  private warn(text: string): void {
    this.emit({ type: "warning", time: this.ctx.time(), text });
  }

  /** To the room's sink (if any) and to on() listeners. */
  private emit(e: SessionEvent): void {
    this.events.emit(e);
  }

  // ---- receiving -------------------------------------------------------------

  private receive(d: Datagram): void {
    if (this.closed) return;
    this.counters.datagramsReceived++;
    const got = this.intake.take(d);
    if (got.kind === "drop") return; // our own loopback (a sender hears all of it), or junk
    if (got.kind === "legacy") {
      for (const f of this.features) f.legacy?.(d, got.from);
    } else {
      for (const h of this.ctx.hooks.framedFrom) h(got.from);
      this.handleFrame(got.frame, got.from);
    }
    this.rearm();
  }

  /** Hands one frame to the features that handle its type. */
  private handleFrame(frame: Frame, from: string): void {
    // A v1.1 member's v1 view is for 0.2 members: we read its v1.1 frames (PROTOCOL.md §12.6).
    if ("compat" in frame && frame.compat) return;
    if ((frame.type === "message" || frame.type === "record") && frame.history) {
      // History answers re-send other members' records: the origin rule cannot apply to them.
      for (const f of this.features) f.history?.(frame, from);
      return;
    }
    if (frame.id === this.id) return;
    // Every other frame speaks for its instance id: only from where that instance was first
    // heard (a forged BYE, GONE, tail or record from another host changes nothing).
    const p = this.ctx.peers.heard(frame.id, from);
    if (p === "spoofed" || p === "full") {
      if (p === "spoofed") this.counters.spoofed++;
      else this.counters.peersRefused++;
      return;
    }
    const handlers = this.handlers.get(frame.type);
    if (handlers) for (const h of handlers) h(frame, p);
  }

  /** Turn a stream's in-order output into events: records to their kinds, and losses. */
  private deliver(p: Peer, stream: InboundStream, items: readonly InboundItem[]): void {
    for (const item of items) {
      if (item.type === "lost") {
        this.counters.lost += item.count;
        this.emit({
          type: "lost",
          time: this.ctx.time(),
          from: p.from,
          nick: p.nick,
          id: p.id,
          seq: item.seq,
          count: item.count,
          messages: item.messages,
          ...(stream.stream !== 0 ? { stream: stream.stream } : {}),
        });
        continue;
      }
      const kind = this.kinds.get(item.kind);
      if (!kind) continue; // not read here: such seqs are skipped before they get this far
      let value: unknown;
      try {
        value = decodeRecord(kind, item.parts);
      } catch {
        this.counters.malformed++;
        continue;
      }
      const from = { peer: p, stream: stream.stream, seq: item.seq };
      kind.deliver(value, from);
      for (const h of this.ctx.hooks.delivered) h(kind, value, from);
    }
    for (const h of this.ctx.hooks.advanced) h(p, stream);
  }

  /**
   * A member left. After BYE its missing tail still gets a short grace for repairs in
   * flight (the peer's poll gives up then); after a timeout it is lost at once.
   */
  private leave(p: Peer, reason: "bye" | "timeout"): void {
    this.ctx.peers.leave(p, reason);
    // (before the hooks: the receive feature watches the BYE grace's timer from its hook)
    if (reason === "bye") p.byeAt ??= this.scheduler.now();
    for (const h of this.ctx.hooks.left) h(p, reason);
    this.wake();
    if (reason === "timeout") for (const w of p.giveUp()) this.deliver(p, w.stream, w.items);
  }

  // ---- timers ----------------------------------------------------------------

  /**
   * Sleep until the earliest deadline of any feature. Features keep their deadlines cheap to
   * ask: it is asked after every datagram (what it touched can only have moved earlier), and
   * every tick recomputes them in full.
   */
  private rearm(): void {
    if (this.closed || !this.started) return;
    let at = Number.POSITIVE_INFINITY;
    for (const f of this.features) {
      const t = f.deadline?.();
      if (t !== undefined && t < at) at = t;
    }
    if (at < Number.POSITIVE_INFINITY) this.alarm.arm(at);
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.scheduler.now();
    for (const f of this.features) f.tick?.(now);
    this.rearm();
  }

  /**
   * Pipe mode, after input EOF: stay until every present member has reported our tail in every
   * stream it receives (so nothing we sent can still need a repair), bounded by `maxMs`. Members
   * that time out or leave are not waited for; a member that fell behind (lagging) is waited
   * for while what it misses is still in our repair buffer. Resolves with the members still
   * behind at the end.
   */
  async drain(maxMs = DRAIN_MAX_MS): Promise<DrainResult> {
    if (this.closed || !this.started) return { behind: [] };
    const start = this.scheduler.now();
    this.draining = true;
    for (;;) {
      const now = this.scheduler.now();
      const streams = [...this.outbound.values()];
      // A small room confirms our tail member by member (§8); a big one by questions (§13.3).
      const small = this.ctx.roomSize() <= SMALL_ROOM_MAX;
      const behind = membersBehind(this.ctx.peers, streams, now - start, small);
      if (this.closed) return { behind: [] };
      const settled = streams.every((s) => confirmed(s, small));
      if (behind.length === 0 && settled && now - this.ctx.startedAt >= DRAIN_MIN_AGE_MS) {
        return { behind };
      }
      if (now >= start + maxMs) return { behind };
      this.askForReports(streams.filter((s) => !s.unused));
      // Woken by reports and departures, and at least every DRAIN_MIN_AGE_MS.
      const wakeAt = Math.min(start + maxMs, now + DRAIN_MIN_AGE_MS);
      await new Promise<void>((resolve) => {
        const h = this.scheduler.at(wakeAt, () => this.wake());
        this.waiters.push(() => {
          this.scheduler.cancel(h);
          resolve();
        });
      });
    }
  }

  /** Say BYE, leave the group and close the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.started) {
      for (const f of this.features) await f.close?.();
    }
    this.closed = true;
    this.alarm.disarm();
    this.wake();
    await this.opts.transport.close();
  }
}

/** A delivered record's value: its kind decodes the joined body; a 0.2 member's text is v1. */
function decodeRecord(kind: RecordKind, parts: readonly Fragment[]): unknown {
  const head = parts[0];
  if (head?.v1) {
    const text = joinFragments(parts.map((f) => f.payload));
    const v: TextRecord = { action: head.v1.action, nick: head.v1.nick, time: head.v1.time, text };
    return v;
  }
  return kind.decode(joinBody(parts.map((f) => f.payload)));
}
