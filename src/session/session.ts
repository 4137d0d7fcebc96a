import { UserError } from "../errors.ts";
import type { Datagram } from "../net/transport.ts";
import {
  checkMessageSize,
  encode,
  type Frame,
  joinFragments,
  type MessageFrame,
  randomInstanceId,
  seqAdd,
} from "../protocol/index.ts";
import { DatagramIntake } from "./datagram-intake.ts";
import { DRAIN_MAX_MS, DRAIN_MIN_AGE_MS, membersBehind } from "./drain-rule.ts";
import { EventBus } from "./event-bus.ts";
import { ownMessage, type SessionEvent } from "./events.ts";
import { FlowControl } from "./flow-control.ts";
import { HistoryCollector } from "./history.ts";
import { HISTORY_ANSWER_MAX_BYTES, HistoryResponder } from "./history-responder.ts";
import { LegacyBridge } from "./legacy-bridge.ts";
import { legacyLine, legacyMessage, sendLegacyText } from "./legacy-text.ts";
import { messageFrames } from "./message-frames.ts";
import type { Peer, PeerOutput } from "./peer.ts";
import { type MemberInfo, PeerTable } from "./peer-table.ts";
import { RawSession } from "./raw-session.ts";
import { repairBufferForWindow } from "./repair-buffer.ts";
import { ReportSchedule } from "./report-schedule.ts";
import { RoomLog } from "./room-log.ts";
import type { DrainResult, RoomSession, SendResult, SessionOptions } from "./room-session.ts";
import { Alarm, type Scheduler, systemScheduler } from "./scheduler.ts";
import { SenderState } from "./sender.ts";
import { emptyStats, type SessionStats } from "./stats.ts";

export { DRAIN_MAX_MS } from "./drain-rule.ts";
export type { MemberInfo } from "./peer-table.ts";
export type {
  DeliveryState,
  DrainResult,
  RoomSession,
  SendResult,
  SessionOptions,
} from "./room-session.ts";
export { formatFrom } from "./room-session.ts";
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
/** BYE frames sent when leaving (copies of one another). */
const BYE_COPIES = 3;
/** A sender waiting for reports sends a REPORT-WANTED heartbeat this soon (ms). */
const WANT_REPORT_SOON_MS = 25;

/**
 * A framed room over a Transport: members, ordered and repaired delivery per sender,
 * fragments, history, flow control, and the bridge to legacy programs. Emits SessionEvents;
 * renders nothing. The parts live in their own modules; this class wires them to the
 * transport and the scheduler.
 */
export class Session implements RoomSession {
  readonly id: string;
  readonly framed = true;
  private readonly counters: SessionStats = emptyStats();
  private readonly bus = new EventBus();
  private readonly scheduler: Scheduler;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly peers: PeerTable;
  private readonly sender: SenderState;
  private readonly flow: FlowControl;
  private readonly reports = new ReportSchedule();
  private readonly responder: HistoryResponder;
  private readonly bridge: LegacyBridge;
  private readonly log = new RoomLog();
  private readonly heartbeatMs: number;
  /** Monotonic time we started (our HELLO/HEARTBEAT `age` counts from here). */
  private readonly startedAt: number;
  private readonly alarm: Alarm;
  private history?: HistoryCollector;
  private myNick: string;
  private closed = false;
  private started = false;
  private waiters: (() => void)[] = [];
  private sendsSinceYield = 0;
  /** In drain(): our heartbeats ask for reports even from members that never reported. */
  private draining = false;
  private readonly intake = new DatagramIntake(
    () => this.counters.malformed++,
    (t) => this.warn(t),
  );

  constructor(private readonly opts: SessionOptions) {
    this.scheduler = opts.scheduler ?? systemScheduler;
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.id = opts.id ?? randomInstanceId();
    this.myNick = opts.nick;
    this.responder = new HistoryResponder(this.id);
    this.heartbeatMs = opts.heartbeatMs ?? 2000;
    const now = this.scheduler.now();
    this.startedAt = now;
    const timeoutMs = this.heartbeatMs * 3;
    this.peers = new PeerTable(
      {
        now: () => this.scheduler.now(),
        random: this.random,
        joinedAt: opts.joinedAt ?? now,
      },
      timeoutMs,
      (e) => this.emit(e),
      () => this.time(),
    );
    this.flow = new FlowControl({
      windowFragments: opts.window?.fragments,
      windowBytes: opts.window?.bytes,
      stallMs: timeoutMs,
    });
    this.sender = new SenderState({
      now: () => this.scheduler.now(),
      ambientMs: this.heartbeatMs,
      buffer: repairBufferForWindow(this.flow.windowFragments, this.flow.windowBytes),
    });
    // An encrypted room never sends plaintext: no bridge to legacy programs.
    this.bridge = new LegacyBridge(opts.legacy === true, this.encrypted);
    opts.transport.security?.onWarning((text) => this.warn(text));
    this.alarm = new Alarm(this.scheduler, () => this.tick());
    this.peers.onForget = (id) => {
      this.reports.forget(id);
      this.flow.remove(id);
    };
    opts.transport.onDatagram((d) => this.receive(d));
  }

  /** Counters, including the receive windows' duplicates and suppressed NACKs. */
  get stats(): SessionStats {
    const w = this.peers.windowTotals();
    return {
      ...this.counters,
      duplicates: w.duplicates,
      nacksSuppressed: w.suppressed,
      ...this.opts.transport.security?.counters(),
      holdRefused: this.peers.budget.refused,
      repairsRefused: this.sender.repairer.stats.refused,
      historyRefused: this.responder.refused,
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
    return this.bus.on(listener);
  }

  private time(): Date {
    return new Date(this.clock());
  }

  private warn(text: string): void {
    this.emit({ type: "warning", time: this.time(), text });
  }

  /** To the room's sink (if any) and to on() listeners. */
  private emit(e: SessionEvent): void {
    this.opts.events?.emit(e);
    this.bus.emit(e);
  }

  /** Members present now, ourselves included; `lastSeen` in wall-clock ms. */
  members(): MemberInfo[] {
    const now = this.scheduler.now();
    const wall = this.clock();
    const self = { id: this.id, nick: this.myNick, from: "self", lastSeen: wall, self: true };
    return [
      self,
      ...this.peers.present().map((m) => ({ ...m, lastSeen: wall - (now - m.lastSeen) })),
    ];
  }

  /** Announce ourselves, start heartbeats and timers, ask for history. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.sendControl("hello");
    this.sender.started();
    const n = this.opts.history ?? 0;
    if (n > 0) {
      const requestId = Math.floor(this.random() * 2 ** 32) >>> 0;
      const wait = this.opts.historyWaitMs ?? 700;
      this.history = new HistoryCollector(n, this.scheduler.now() + wait);
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
    if (old !== nick && this.started) {
      this.sender.scheduleSoon(0);
      this.rearm();
    }
  }

  /**
   * Send one message: longer than 64 KiB -> UserError, nothing sent. Waits while the
   * flow-control window is full (a member is behind). While legacy programs are in the room,
   * the message also goes to them as plain text.
   */
  async send(text: string, opts: { action?: boolean } = {}): Promise<SendResult> {
    if (this.closed) throw new Error("session closed");
    if (this.opts.listen) throw new UserError("listen-only: not sending", 1);
    try {
      checkMessageSize(text);
    } catch (e) {
      throw new UserError(`${(e as Error).message}; nothing was sent`, 1);
    }
    const action = opts.action === true;
    const { frames, sizes, bytes } = messageFrames({
      id: this.id,
      nick: this.myNick,
      text,
      action,
      time: this.clock(),
    });
    if (++this.sendsSinceYield >= YIELD_EVERY_SENDS) {
      this.sendsSinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.waitForWindow(frames.length, bytes);
    if (this.closed) throw new Error("session closed");
    const first = this.sender.allocate(frames.length);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i] as MessageFrame;
      f.seq = seqAdd(first, i);
      this.sender.remember(f);
      this.flow.sent(f.seq, sizes[i] as number);
    }
    // Not awaited one by one: the socket queues them in order, and waiting for each send's
    // callback before the next line halved a pipe's rate. The flow-control window bounds
    // what can be queued; a failure is reported as a warning (the data stays repairable).
    for (const f of frames) this.fire(this.sendFrame(f));
    this.log.add(frames);
    this.sender.messageSent();
    if (this.bridge.active(this.scheduler.now())) {
      const line = legacyLine(text, this.myNick, action);
      this.counters.datagramsSent += await sendLegacyText(
        this.opts.transport,
        line,
        this.opts.encoding,
        (t) => this.warn(t),
      );
      this.counters.bridged++;
    }
    this.counters.sent++;
    this.emit(ownMessage({ text, nick: this.myNick, id: this.id, action }, this.time()));
    this.rearm();
    return {
      id: this.id,
      stream: 0,
      seq: first,
      fragments: frames.length,
      delivery: async () => ({ reached: [], missed: [] }),
    };
  }

  /** Until the window has room for this message (or we close). */
  private async waitForWindow(fragments: number, bytes: number): Promise<void> {
    while (!this.closed && !this.flow.hasRoom(fragments, bytes)) {
      this.counters.flowWaits++;
      this.askForReports();
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Wake everything waiting on flow control (a report, a member gone, closing). */
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  /** A heartbeat with REPORT-WANTED soon: members tell us where they are. */
  private askForReports(): void {
    if (!this.started || this.closed) return;
    this.sender.scheduleSoon(WANT_REPORT_SOON_MS);
    this.rearm();
  }

  private async sendFrame(frame: Frame): Promise<void> {
    try {
      await this.opts.transport.send(encode(frame), "framed");
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
      age: Math.max(0, Math.floor(this.scheduler.now() - this.startedAt)),
      reportWanted: type !== "bye" && (this.draining || this.flow.waiting) ? true : undefined,
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
    const got = this.intake.take(d);
    if (got.kind === "drop") return; // our own loopback (a sender hears all of it), or junk
    const now = this.scheduler.now();
    let peer: Peer | undefined;
    if (got.kind === "legacy") {
      const shown = this.bridge.legacyFrom(got.from, got.data, now);
      for (const h of shown) this.showLegacy(h, d.unauthenticated);
    } else {
      this.bridge.framedFrom(got.from);
      const f = got.frame;
      if (f.id !== this.id) peer = this.handleFrame(f, got.from, now);
      // Our id from elsewhere: a member re-sending our old messages as history answers.
      else if (f.type === "message" && f.history && this.peers.memberAt(got.from)) {
        this.responder.heardAnswer();
      }
    }
    this.rearm(true, peer);
  }

  /** Legacy text as a message; in an encrypted room (`--allow-plaintext`) marked unauthenticated. */
  private showLegacy(
    h: { from: string; data: Uint8Array },
    unauthenticated = this.encrypted,
  ): void {
    this.counters.received++;
    const e = legacyMessage(h, h.from, this.opts.encoding, this.time());
    this.emit(unauthenticated && e.type === "message" ? { ...e, unauthenticated } : e);
  }

  /** Handles one frame; returns the peer it concerned, if any (for the re-arm). */
  private handleFrame(frame: Frame, from: string, now: number): Peer | undefined {
    if (frame.type === "message" && frame.history) {
      // History answers re-send other members' messages: only a member's are shown (checked
      // when the collection ends: an answer may overtake its sender's heartbeat) and only a
      // member's stop us from answering.
      this.history?.add(frame, from);
      if (this.peers.memberAt(from)) this.responder.heardAnswer();
      return undefined;
    }
    // Every other frame speaks for its instance id: only from where that instance was first
    // heard (a forged BYE, GONE, tail or message from another host changes nothing).
    const p = this.peers.heard(frame.id, from);
    if (p === "spoofed" || p === "full") {
      if (p === "spoofed") this.counters.spoofed++;
      else this.counters.peersRefused++;
      return undefined;
    }
    this.dispatch(frame, p, now);
    return p;
  }

  private dispatch(frame: Frame, p: Peer, now: number): void {
    switch (frame.type) {
      case "hello":
      case "heartbeat":
      case "bye": {
        if (p.gone && p.leftBy === "timeout" && frame.type !== "bye") p.gone = false; // back again
        if (!p.gone) this.peers.announce(p, frame.nick);
        this.deliver(p, p.onControl(frame.age, frame.seq));
        if (frame.type === "hello" && this.started && !p.gone) {
          // A newcomer: let it hear us soon (it learns our nick, age and tail).
          this.sender.scheduleSoon(this.random() * 200);
        }
        if (frame.reportWanted && p.next !== undefined) this.reports.requested(now);
        if (frame.type === "bye") this.leave(p, "bye");
        return;
      }
      case "message": {
        if (!p.gone) this.peers.announce(p, frame.nick);
        if (frame.repair) this.counters.repairsReceived++;
        this.deliver(p, p.onMessage(frame));
        return;
      }
      case "nack": {
        this.counters.nacksHeard++;
        // Only a member that announced itself gets repairs (made-up ids make no work).
        if (frame.target === this.id) {
          if (p.present) this.sender.onNack(frame.ranges, p.id, p.firstSeen);
        } else {
          const target = this.peers.get(frame.target);
          target?.onNackHeard(frame.ranges);
        }
        this.deliver(p, p.onTail(frame.seq)); // the header seq is the requester's own tail
        return;
      }
      case "gone":
        this.deliver(p, p.onGone(frame.seq, frame.ranges));
        return;
      case "history_req": {
        // Not only from announced members: a joiner's HELLO may arrive after its request.
        // Floods are bounded by the responder (one answer a second).
        const members = [this.id, ...this.peers.present().map((m) => m.id)];
        this.responder.request(frame.count, frame.requestId, this.log.size, members, now, p.id);
        return;
      }
      case "report": {
        this.counters.reportsHeard++;
        for (const e of frame.entries) {
          if (e.target !== this.id) continue;
          if (this.flow.report(p.id, e.next, now) === "caught-up") {
            this.warn(`${p.nick || p.id} has caught up; waiting for it again`);
          }
          this.wake();
        }
        this.deliver(p, p.onTail(frame.seq));
        return;
      }
    }
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
          seq: item.seq,
          count: item.count,
          messages: item.messages,
        });
        continue;
      }
      if (this.emitMessage(item.parts, p.from, false)) this.counters.received++;
    }
    const next = p.next;
    if (next !== undefined && !p.gone) this.reports.progress(p.id, next, this.scheduler.now());
  }

  /**
   * One whole framed message as an event (and into the room log); false if unreadable. A live
   * message is stamped with our clock when delivered; a history message with its sender's clock
   * (the only time we have for it).
   */
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
      time: history ? new Date(head.time) : this.time(),
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
    this.peers.leave(p, reason);
    this.flow.remove(p.id);
    this.wake();
    if (reason === "timeout") this.deliver(p, p.giveUp());
    else p.byeAt ??= this.scheduler.now();
  }

  // ---- timers ----------------------------------------------------------------

  /** Sleep until the earliest deadline of any part. */
  /**
   * `local`, after a datagram: just the peer it concerned (`only`) and our own parts can have
   * deadlines that moved earlier,
   * so the cost per datagram does not grow with the number of members. Every tick ends with
   * a full re-arm over all members, timeouts and stalls (those only ever move later).
   */
  private rearm(local = false, only?: Peer): void {
    if (this.closed || !this.started) return;
    let at = Number.POSITIVE_INFINITY;
    const take = (t: number | undefined) => {
      if (t !== undefined && t < at) at = t;
    };
    take(this.sender.nextDeadline());
    take(this.history?.deadline);
    take(this.responder.deadline);
    take(this.reports.deadline);
    take(this.bridge.deadline);
    if (local) {
      take(only?.nextDeadline());
    } else {
      take(this.peers.nextTimeout());
      take(this.flow.nextStall());
      for (const p of this.peers.values()) take(p.nextDeadline());
    }
    if (at < Number.POSITIVE_INFINITY) this.alarm.arm(at);
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.scheduler.now();
    for (const p of [...this.peers.timedOut(now)]) this.leave(p, "timeout");
    for (const p of this.peers.values()) {
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
    }
    this.peers.forgetDeparted(now);
    for (const id of this.flow.checkStalls(now)) {
      const nick = this.peers.get(id)?.nick || id;
      this.warn(`${nick} is not keeping up; no longer waiting for it (it may lose messages)`);
      this.wake();
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
    const answer = this.responder.due(now);
    if (answer !== undefined) {
      // A heartbeat first: the joiner knows nobody yet and takes history only from a member.
      this.fire(this.sendControl("heartbeat"));
      for (const parts of this.log.recent(answer, HISTORY_ANSWER_MAX_BYTES)) {
        for (const f of parts) this.fire(this.sendFrame({ ...f, history: true, repair: false }));
      }
    }
    if (out.heartbeat) this.fire(this.sendControl("heartbeat"));
    const reportAt = this.reports.deadline;
    if (reportAt !== undefined && now >= reportAt) this.sendReport(now);
    if (this.history?.due(now)) {
      const h = this.history;
      this.history = undefined;
      for (const parts of h.result((from) => this.peers.memberAt(from) !== undefined)) {
        const id = (parts[0] as MessageFrame).id;
        this.emitMessage(parts, this.peers.get(id)?.from ?? "", true);
      }
    }
    for (const h of this.bridge.due(now)) this.showLegacy(h);
    this.rearm();
  }

  /** One REPORT: our `next` for the senders we receive from. */
  private sendReport(now: number): void {
    const entries = this.reports.entries(this.peers.values());
    this.reports.sent(entries, now);
    if (entries.length === 0) return;
    this.counters.reportsSent++;
    this.fire(this.sendFrame({ type: "report", id: this.id, seq: this.sender.tail, entries }));
  }

  /**
   * Pipe mode, after input EOF: stay until every present member has reported our tail (so
   * nothing we sent can still need a repair), bounded by `maxMs`. Members that time out or leave
   * are not waited for; a member that fell behind (lagging) is waited for while what it misses
   * is still in our repair buffer. Resolves with the members still behind at the end.
   */
  async drain(maxMs = DRAIN_MAX_MS): Promise<DrainResult> {
    if (this.closed || !this.started) return { behind: [] };
    const start = this.scheduler.now();
    this.draining = true;
    for (;;) {
      const now = this.scheduler.now();
      const behind = membersBehind(this.peers, this.flow, this.sender.buffer, now - start);
      if (this.closed) return { behind: [] };
      if (behind.length === 0 && now - this.startedAt >= DRAIN_MIN_AGE_MS) return { behind };
      if (now >= start + maxMs) return { behind };
      this.askForReports();
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
      // BYE is not repaired: sent BYE_COPIES times, so a lossy member still sees us leave (at
      // 20% loss one copy is lost 1 time in 5, three in 125); receivers take the first.
      for (let i = 0; i < BYE_COPIES; i++) await this.sendControl("bye").catch(() => {});
    }
    this.closed = true;
    this.alarm.disarm();
    this.wake();
    await this.opts.transport.close();
  }
}
