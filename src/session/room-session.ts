import type { Transport } from "../net/transport.ts";
import type { EventSink } from "./event-sink.ts";
import type { SessionEvent } from "./events.ts";
import type { FeatureFactory, FeatureOptions } from "./feature.ts";
import type { MemberInfo } from "./member-info.ts";
import type { DrainResult, SendResult } from "./results.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SessionStats } from "./stats.ts";

export type { MemberInfo } from "./member-info.ts";
export type { DeliveryState, DrainResult, SendResult } from "./results.ts";

export interface SessionOptions extends FeatureOptions {
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
