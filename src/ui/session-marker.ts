/**
 * A transcript's session markers: `--log` writes one line when the session opens and one when
 * it closes, and `mcchat replay` shows them with their dates, and a day line whenever the
 * date changes between the lines it shows (the room's own lines carry only HH:MM:SS).
 *
 *   {"type":"session","event":"open","time":"…Z","room":"239.1.100.1:25000","nick":"alice","version":"0.5.0"}
 *   {"type":"session","event":"close","time":"…Z","reason":"left","status":0}
 *
 * A transcript written before the markers existed has none: it replays as before, with its
 * day lines. A session ended by SIGKILL or a lost machine has no close line: the next open
 * line (or the end of the file) says as much.
 */
import type { Colors } from "./colors.ts";
import { clock } from "./format.ts";
import { sanitizeNick } from "./sanitize.ts";

export interface SessionOpened {
  type: "session";
  event: "open";
  time: Date;
  /** The room's address, group:port (IPv6 in brackets). */
  room: string;
  nick: string;
  /** mcchat's version. */
  version: string;
}

export interface SessionClosed {
  type: "session";
  event: "close";
  time: Date;
  /** "left" (quit, Ctrl-C, Ctrl-D, end of input), or what stopped it: SIGTERM, hangup… */
  reason: string;
  /** The exit status mcchat ended with. */
  status: number;
}

export type SessionMarker = SessionOpened | SessionClosed;

/** One JSON line (no newline); strings escaped by JSON.stringify. */
export function markerJson(m: SessionMarker): string {
  const time = m.time.toISOString();
  return m.event === "open"
    ? JSON.stringify({
        type: m.type,
        event: m.event,
        time,
        room: m.room,
        nick: m.nick,
        version: m.version,
      })
    : JSON.stringify({
        type: m.type,
        event: m.event,
        time,
        reason: m.reason,
        status: m.status,
      });
}

const isStr = (v: unknown): v is string => typeof v === "string";

/** A parsed `"type":"session"` object (its time already checked) → the marker, or why not. */
export function parseMarker(
  o: Record<string, unknown>,
  time: Date,
): SessionMarker | { error: string } {
  if (o.event === "open") {
    for (const f of ["room", "nick", "version"] as const) {
      if (!isStr(o[f]))
        return { error: `session open with ${o[f] === undefined ? "no" : "a bad"} ${f}` };
    }
    return {
      type: "session",
      event: "open",
      time,
      room: o.room as string,
      nick: o.nick as string,
      version: o.version as string,
    };
  }
  if (o.event === "close") {
    if (!isStr(o.reason))
      return { error: `session close with ${o.reason === undefined ? "no" : "a bad"} reason` };
    if (!Number.isSafeInteger(o.status)) {
      return { error: `session close with ${o.status === undefined ? "no" : "a bad"} status` };
    }
    return {
      type: "session",
      event: "close",
      time,
      reason: o.reason,
      status: o.status as number,
    };
  }
  return { error: `unknown session event ${JSON.stringify(o.event ?? null)}` };
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** The local date, YYYY-MM-DD. */
export function day(time: Date): string {
  return `${time.getFullYear()}-${pad2(time.getMonth() + 1)}-${pad2(time.getDate())}`;
}

/** A marker as replay shows it (every string from the file sanitized): one line, dated. */
export function formatMarker(m: SessionMarker, c: Colors): string {
  const when = `${day(m.time)} ${clock(m.time)}`;
  if (m.event === "open") {
    const version = sanitizeNick(m.version);
    return c.dim(
      `-- session opened ${when} in ${sanitizeNick(m.room)} as ${sanitizeNick(m.nick)} (mcchat ${version})`,
    );
  }
  const status = m.status === 0 ? "" : `, status ${m.status}`;
  return c.dim(`-- session closed ${when} (${sanitizeNick(m.reason)}${status})`);
}

/**
 * Day lines for replay: `next(time)` gives "-- YYYY-MM-DD --" before the first line shown and
 * whenever the local date changed since the last one; `shown(time)` notes a line that states
 * its date itself (a session marker) so no day line repeats it.
 */
export class DayLines {
  private last: string | undefined;

  next(time: Date, c: Colors): string | undefined {
    const d = day(time);
    if (d === this.last) return undefined;
    this.last = d;
    return c.dim(`-- ${d} --`);
  }

  shown(time: Date): void {
    this.last = day(time);
  }
}
