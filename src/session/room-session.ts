import type { Transport } from "../net/transport.ts";
import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";
import type { FeatureFactory } from "./feature.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SessionStats } from "./stats.ts";

export interface SessionOptions {
  transport: Transport;
  /** Encoding of legacy (unframed) text, both ways. */
  encoding: string;
  /** Pure legacy mode: send raw text datagrams and no framed traffic at all. */
  raw: boolean;
  /** The room has legacy programs: also send our messages to them as plain text. */
  legacy?: boolean;
  /** Receive only: presence, NACKs and reports, but no messages of our own. */
  listen?: boolean;
  nick: string;
  /** Ambient heartbeat interval (ms); a member silent for 3 intervals has timed out. */
  heartbeatMs?: number;
  /** Ask the room for this many recent messages on start. */
  history?: number;
  /** How long to collect history answers (ms). */
  historyWaitMs?: number;
  /** Monotonic clock and timers (default: the process's). */
  scheduler?: Scheduler;
  /** Wall clock for event times, ms since the epoch (default Date.now). */
  clock?: () => number;
  random?: () => number;
  /** Instance id (tests); default random. */
  id?: string;
  /** Flow-control window (tests): fragments and bytes beyond the slowest member. */
  window?: { fragments?: number; bytes?: number };
  /** When the transport joined the group (monotonic ms, default: when the session is made). */
  joinedAt?: number;
  /**
   * Where events go and how far readers got (the room controller's event hub). Default: none;
   * `on()` listeners get every event, consumed at once.
   */
  events?: EventSink;
  /** The features the session is made of (default: features.ts; tests add a record kind). */
  features?: readonly FeatureFactory[];
}

/** What became of a record we sent, as far as the room's reports tell. */
export interface DeliveryState {
  /** Members (instance ids) that reported having it (or having given up on it). */
  reached: string[];
  /** Members present when it went out that left, fell behind or did not report in time. */
  missed: string[];
}

/** The result of send(): where the record went in our stream, and later its delivery state. */
export interface SendResult {
  /** Our instance id. */
  id: string;
  /** The stream it went in (0: the conversation). */
  stream: number;
  /** Seq of its first fragment; undefined in a raw (legacy) room, which has no seqs. */
  seq?: number;
  /** Fragments (datagrams) it took in the stream; 0 in a raw room. */
  fragments: number;
  /**
   * Resolves once every member that was receiving our stream when it went out has reported
   * having it, or has left or fallen behind; bounded in time. A raw room resolves at once
   * with nobody reached (it cannot tell).
   */
  delivery(): Promise<DeliveryState>;
}

/** A member as /who shows it. */
export interface MemberInfo {
  id: string;
  nick: string;
  from: string;
  /** Monotonic ms (the session's clock) when last heard. */
  lastSeen: number;
  self: boolean;
  /**
   * The wire revision it speaks: "1.0" for mcchat 0.2 (plain text only: it is sent a v1 copy of
   * our text, and nothing it could take for a loss), "1.1" for typed streams; undefined while
   * not known yet (and for ourselves).
   */
  wire?: "1.0" | "1.1";
}

/** How a pipe sender's drain after EOF ended. */
export interface DrainResult {
  /** Members still behind our tail when we stopped waiting (nick or id). */
  behind: string[];
}

/** What the room controller uses of a session, framed or raw (legacy). */
export interface RoomSession {
  readonly id: string;
  readonly nick: string;
  readonly framed: boolean;
  /** An encrypted room (passphrase): frames sealed, no plaintext sent or believed. */
  readonly encrypted: boolean;
  readonly stats: SessionStats;
  /** Every event from now on (and those emitted before the first listener), unpaced. */
  on(listener: (e: SessionEvent) => void): () => void;
  members(): MemberInfo[];
  start(): Promise<void>;
  setNick(nick: string): Promise<void>;
  /**
   * Send one message: longer than 64 KiB -> UserError, nothing sent. Waits while the flow-control
   * window is full. Resolves when it has gone out, with its place in our stream.
   */
  send(text: string, opts?: { action?: boolean }): Promise<SendResult>;
  /** After input EOF: wait until the room has what we sent (bounded). */
  drain(maxMs?: number): Promise<DrainResult>;
  close(): Promise<void>;
}

/** Formats "address:port" (IPv6 in brackets). */
export function formatFrom(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
