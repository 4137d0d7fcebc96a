/**
 * A session is a set of features (presence, streams in and out, repair, flow control, reports,
 * history, text, the legacy bridge, the v1 view for 0.2 members…). Each registers what it reads
 * and does: the record kinds it reads and writes, the frame types it handles, its deadline and
 * its timer work, its counters. The session (session.ts) only routes datagrams and timers to
 * them. A new feature is one new file plus one line in features.ts.
 */
import type { Datagram, Transport } from "../net/transport.ts";
import type { TextRecord } from "../protocol/text-record.ts";
import type {
  Frame,
  FrameType,
  MessageFrame,
  RecordFrame,
  ReportEntry,
  SeqRange,
} from "../protocol/types.ts";
import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";
import type { InboundItem, InboundStream } from "./receiving/inbound-stream.ts";
import type { SendResult } from "./results.ts";
import type { Peer } from "./room/peer.ts";
import type { PeerTable } from "./room/peer-table.ts";
import type { Scheduler } from "./scheduler.ts";
import type { OutboundStream, OutboundStreamOptions } from "./sending/outbound-stream.ts";
import type { StreamFrame } from "./sending/repair-buffer.ts";
import type { SessionStats } from "./stats.ts";

/** The session's options that features read (SessionOptions, room-session.ts, has them all). */
export interface FeatureOptions {
  /** Encoding of legacy (unframed) text, both ways. */
  encoding: string;
  /** The room has legacy programs: also send our messages to them as plain text. */
  legacy?: boolean;
  /** Ask the room for this many recent messages on start. */
  history?: number;
  /** How long to collect history answers (ms). */
  historyWaitMs?: number;
  /** Flow-control window (tests): fragments and bytes beyond the slowest member. */
  window?: { fragments?: number; bytes?: number };
}

/** A record kind: its code and stream on the wire, its body codec, what delivery does. */
export interface RecordKind<V = unknown> {
  /** The kind byte (protocol/constants.ts RecordKind; 0xF0-0xFF for experiments and tests). */
  readonly code: number;
  readonly name: string;
  /** The stream its records travel in (0 the conversation, 1 bulk). */
  readonly stream: number;
  /** The record's body. Throws RangeError for a value that cannot be sent (a caller bug). */
  encode(value: V): Uint8Array;
  /** Throws DecodeError for a body that is not one (counted as malformed, never shown). */
  decode(body: Uint8Array): V;
  /** A record of this kind from `from` was delivered, in its sender's order, once. */
  deliver(value: V, from: Delivered): void;
  /** One of ours went out (e.g. the echo of our own message). */
  sent?(value: V, result: SendResult): void;
}

/** Where a delivered record came from. */
export interface Delivered {
  peer: Peer;
  stream: number;
  /** Seq of its first fragment. */
  seq: number;
}

/** A record of ours, about to go out or gone out. */
export interface Outgoing {
  kind: RecordKind;
  value: unknown;
  /** Its body split into fragment payloads. */
  fragments: number;
  bytes: number;
}

/** Frame handlers a feature registers, by frame type: called after the origin rule, with the peer. */
export type FrameHandlers = {
  [T in FrameType]?: (frame: Extract<Frame, { type: T }>, peer: Peer) => void;
};

export interface Feature {
  readonly name: string;
  /** Record kinds this feature reads (and writes). */
  readonly kinds?: readonly RecordKind[];
  /** Frames it handles. Several features may handle one type: each is called, in list order. */
  readonly frames?: FrameHandlers;
  /**
   * History answers (MESSAGE or RECORD with the HISTORY flag): they re-send other members'
   * records, so the origin rule does not apply; `from` is the address:port they came from.
   */
  history?(frame: MessageFrame | RecordFrame, from: string): void;
  /** Plain text on the room port (a classic program, or a member's bridged copy). */
  legacy?(d: Datagram, from: string): void;
  /** Earliest monotonic time tick() has work. Called after every datagram: keep it cheap. */
  deadline?(): number | undefined;
  /** Timer work; called when the session's earliest deadline is due (check your own). */
  tick?(now: number): void;
  /** Its counters (merged into the session's stats). */
  stats?(): Partial<SessionStats>;
  /** After the session's first HELLO went out. */
  start?(): Promise<void> | void;
  /** Before the session says BYE and closes (awaited, bounded by the caller). */
  close?(): Promise<void> | void;
}

/**
 * Cross-feature signals. Features push their callbacks in their factory; the session and the
 * features call them. Keeps features from knowing each other.
 */
export interface Hooks {
  /** Awaited before one of our records gets its seqs (a mirror may wait for its own window). */
  beforeSend: ((r: Outgoing) => Promise<void> | void)[];
  /** One of our records went out. */
  sent: ((r: Outgoing, result: SendResult) => void)[];
  /** A record from another member was delivered and decoded. */
  delivered: ((kind: RecordKind, value: unknown, from: Delivered) => void)[];
  /** We sent a PRESENCE of this phase (the v1 view mirrors it). */
  presenceSent: ((phase: "hello" | "heartbeat" | "bye") => void)[];
  /** A frame came from `from` (the legacy bridge learns framed members' sources). */
  framedFrom: ((from: string) => void)[];
  /** A member announced itself (its first presence frame with a nick, or it is back). */
  announced: ((peer: Peer) => void)[];
  /** A member left or timed out. */
  left: ((peer: Peer, reason: "bye" | "timeout") => void)[];
  /** A member was forgotten (its state can go). */
  forgotten: ((id: string) => void)[];
  /** Items of a member's stream were delivered: its `next` may have moved. */
  advanced: ((peer: Peer, stream: InboundStream) => void)[];
}

/** What features share: the session's state and its ways to act. */
export interface SessionContext {
  readonly id: string;
  readonly opts: FeatureOptions;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  /** Monotonic time we started (our presence `age` counts from here). */
  readonly startedAt: number;
  /** The ambient heartbeat interval (ms); a member silent for 3 of them has timed out. */
  readonly heartbeatMs: number;
  nick: string;
  readonly started: boolean;
  readonly closed: boolean;
  /** In drain(): heartbeats ask every member for a report. */
  readonly draining: boolean;
  /** Our sends are failing now (the link or route is gone): members cannot keep up with us. */
  readonly cannotSend: boolean;
  /** Monotonic ms. */
  now(): number;
  /**
   * N̂: the estimated number of members in the room, ourselves included (at least 1). Feedback
   * that would grow with the room (report and NACK back-off, heartbeat intervals) scales by it.
   */
  roomSize(): number;
  /** Wall-clock time for events. */
  time(): Date;
  random(): number;
  readonly peers: PeerTable;
  readonly counters: SessionStats;
  readonly hooks: Hooks;
  /** Well-known services features provide to each other (absent when the feature is). */
  readonly services: Services;
  /** Whether any present member may not read `kind` (unknown to it, or its kinds not known). */
  someMayNotRead(kind: number): boolean;
  /** The kind codes this member reads (its capabilities, in its PRESENCE). */
  readonly readKinds: readonly number[];
  /** How each of our streams as a sender is made (clock, start, stall of 3 heartbeats, window). */
  readonly streamOptions: OutboundStreamOptions;
  /** Our stream `n` as a sender (made on first use). */
  outbound(n: number): OutboundStream<RecordFrame>;
  /** Every stream we send in: ours by number, and the v1 view ("v1") while there is one. */
  readonly outboundStreams: Map<number | "v1", OutboundStream<StreamFrame>>;
  /** Encode and send one frame to the companion port; counts it. Rejects on a socket error. */
  send(frame: Frame): Promise<void>;
  /** send(), with a failure reported as a warning (the data stays repairable). */
  fire(frame: Frame): void;
  /** Hand an event on (to the room's sink and to on() listeners). */
  emit(e: SessionEvent): void;
  warn(text: string): void;
  /** Turn a stream's in-order output into events (records to their kinds, losses). */
  deliver(peer: Peer, stream: InboundStream, items: readonly InboundItem[]): void;
  /** A member left (BYE) or timed out: leave events, streams given up, windows told. */
  leave(peer: Peer, reason: "bye" | "timeout"): void;
  /** Something a sender waits for changed (a report, a member left): wake flow-control waits. */
  wake(): void;
  /** Until `out`'s window has room for this many fragments and bytes (or the session closes). */
  waitForRoom(out: OutboundStream<StreamFrame>, fragments: number, bytes: number): Promise<void>;
  /** Re-arm the timer (a feature's deadline moved earlier outside of a datagram or tick). */
  rearm(): void;
  /** The event sink's consumption (output as flow control). */
  readonly sink: EventSink;
}

/** Services one feature offers the others (filled in by that feature's factory). */
export interface Services {
  /** presence: send a HEARTBEAT (PRESENCE) now, e.g. before a history answer. */
  heartbeatNow?(): void;
  /** presence: a heartbeat within `delayMs` (a newcomer's HELLO, a nick change). */
  heartbeatSoon?(delayMs: number): void;
  /** reports: a sender asked for reports (REPORT-WANTED) and we receive from it. */
  reportWanted?(peer: Peer): void;
  /**
   * flow: ask the room "who has not reached our tail?" on `out` (PROTOCOL.md §13.3), carried by
   * a heartbeat within `delayMs`.
   */
  askReports?(out: OutboundStream<StreamFrame>, delayMs: number): void;
  /** flow: a member reported its `next` for one of our streams. */
  reported?(out: OutboundStream<StreamFrame>, peer: Peer, next: number): void;
  /** compat: the v1 frames for a 0.2 member's stream (its NACKs and REPORTs are v1). */
  v1?: {
    nack(target: Peer, ranges: SeqRange[]): Frame;
    report(entries: ReportEntry[]): Frame;
    /** Whether the v1 view is on (0.2 members present): history answers get v1 copies. */
    active(): boolean;
    /** The v1 view's tail (the header seq of our v1 frames). */
    tail(): number;
    /** Send the v1 copies of these text records as a history answer. */
    historyCopies(records: HistoryRecord[]): void;
  };
}

/** A text record as the room log keeps it (history answers re-send these). */
export interface HistoryRecord {
  /** The original sender's instance id and the seq of the record's first fragment. */
  id: string;
  seq: number;
  value: TextRecord;
}

/** A feature is made per session, from the shared context. */
export type FeatureFactory = (ctx: SessionContext) => Feature;
