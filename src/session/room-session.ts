import type { Transport } from "../net/transport.ts";
import type { SessionEvent } from "./events.ts";
import type { MemberInfo } from "./peer-table.ts";
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
}

/** How a pipe sender's drain after EOF ended. */
export interface DrainResult {
  /** Members still behind our tail when we stopped waiting (nick or id). */
  behind: string[];
}

/** What the UI uses of a room, framed or raw (legacy). */
export interface RoomSession {
  readonly id: string;
  readonly nick: string;
  readonly framed: boolean;
  /** An encrypted room (passphrase): frames sealed, no plaintext sent or believed. */
  readonly encrypted: boolean;
  readonly stats: SessionStats;
  on(listener: (e: SessionEvent) => void): () => void;
  members(): MemberInfo[];
  start(): Promise<void>;
  setNick(nick: string): Promise<void>;
  send(text: string, opts?: { action?: boolean }): Promise<void>;
  /** After input EOF: wait until the room has what we sent (bounded). */
  drain(maxMs?: number): Promise<DrainResult>;
  close(): Promise<void>;
}

/** Formats "address:port" (IPv6 in brackets). */
export function formatFrom(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
