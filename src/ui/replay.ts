/**
 * `mcchat replay FILE`: a transcript written by `--log` shown again, as the room showed
 * it: the pipe's plain lines (every remote string sanitized), coloured only on a
 * terminal; with `--json` the valid lines are passed through as they are. A line that is
 * not a transcript event is one warning naming its line number; the rest is still shown,
 * and the exit status is then 1.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { RawOptions } from "../config/options.ts";
import { fileErrorText, UserError } from "../errors.ts";
import type { Io } from "../io.ts";
import type { SessionEvent } from "../session/events.ts";
import { makeColors } from "./colors.ts";
import { formatPlain, type Member } from "./format.ts";
import { DayLines, formatMarker, parseMarker, type SessionMarker } from "./session-marker.ts";
import { wrapLines } from "./wrap.ts";

type Json = Record<string, unknown>;

const isStr = (v: unknown): v is string => typeof v === "string";
const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const optional =
  <T>(check: (v: unknown) => v is T) =>
  (v: unknown): v is T | undefined =>
    v === undefined || check(v);
const optStr = optional(isStr);
const optInt = optional(isInt);
const optBool = optional((v: unknown): v is boolean => typeof v === "boolean");
/** A relayed history line's relayer: { nick, id }. */
const isVia = (v: unknown): v is { nick: string; id: string } =>
  typeof v === "object" && v !== null && isStr((v as Json).nick) && isStr((v as Json).id);

/** Fields each event type must (or may) hold, and their checks. */
const SHAPES: Record<SessionEvent["type"], Record<string, (v: unknown) => boolean>> = {
  message: {
    from: isStr,
    text: isStr,
    nick: optStr,
    id: optStr,
    seq: optInt,
    legacy: optBool,
    unauthenticated: optBool,
    action: optBool,
    history: optBool,
    via: optional(isVia),
    self: optBool,
  },
  join: { from: isStr, nick: isStr, id: isStr },
  leave: { from: isStr, nick: isStr, id: isStr, reason: (v) => v === "bye" || v === "timeout" },
  nick: { from: isStr, nick: isStr, id: isStr, old: isStr },
  lost: { from: isStr, nick: isStr, id: isStr, seq: isInt, count: isInt, messages: isInt },
  warning: { text: isStr },
  info: { text: isStr },
};

/** One transcript line → the event (or session marker), or why it is not one. */
export function parseTranscriptLine(
  line: string,
): SessionEvent | SessionMarker | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: line.trim() === "" ? "empty line" : "not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { error: "not a JSON object" };
  }
  const o = v as Json;
  const type = o.type;
  const marker = type === "session";
  if (!isStr(type) || (!marker && !Object.hasOwn(SHAPES, type))) {
    return { error: `unknown event type ${JSON.stringify(type ?? null)}` };
  }
  const time = isStr(o.time) ? new Date(o.time) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) return { error: "no valid time" };
  if (marker) return parseMarker(o, time);
  for (const [field, check] of Object.entries(SHAPES[type as SessionEvent["type"]])) {
    if (!check(o[field])) {
      return { error: `${type} event with ${o[field] === undefined ? "no" : "a bad"} ${field}` };
    }
  }
  return { ...o, time } as SessionEvent;
}

/**
 * Who was present as the transcript goes, so that two members with one nick are told
 * apart (nick#id) as the chat room did. Ourselves too, once a message of ours is seen.
 */
export class Presence {
  private readonly present = new Map<string, string>();

  /** Update with an event; returns the members present for formatting it. */
  see(e: SessionEvent): Member[] {
    if (e.type === "join" || e.type === "nick") this.present.set(e.id, e.nick);
    if (e.type === "message" && e.self && e.id !== undefined && e.nick !== undefined) {
      this.present.set(e.id, e.nick);
    }
    const members = [...this.present].map(([id, nick]) => ({ id, nick }));
    if (e.type === "leave") this.present.delete(e.id);
    return members;
  }
}

/** Bad lines warned about one by one; beyond that, one count at the end. */
const MAX_WARNINGS = 20;

/** Output is written in chunks of about this many characters. */
const CHUNK = 64 * 1024;

export async function runReplay(file: string, flags: RawOptions, io: Io): Promise<number> {
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (err: NodeJS.ErrnoException) => {
      reject(new UserError(`cannot read ${file}: ${fileErrorText(err)}`, 1));
    });
  });
  const json = flags.json === true;
  const colors = makeColors({ env: io.env, isTTY: io.stdout.isTTY === true });
  const columns = io.stdout.isTTY ? (io.stdout as { columns?: number }).columns : undefined;
  let presence = new Presence();
  const days = new DayLines();
  let out = "";
  // The reader went away (`mcchat replay FILE | head`): stop reading, exit 0.
  let gone = false;
  let wake = () => {};
  const onOutputError = () => {
    gone = true;
    wake();
  };
  io.stdout.on?.("error", onOutputError);
  const flush = async () => {
    if (out === "" || gone) return;
    const text = out;
    out = "";
    if (!io.stdout.write(text)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        io.stdout.once("drain", () => resolve());
      });
    }
  };
  let lineNo = 0;
  let bad = 0;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (gone) break;
      lineNo++;
      const e = parseTranscriptLine(line);
      if ("error" in e) {
        if (++bad <= MAX_WARNINGS) {
          await flush(); // the warning lands between the lines around it
          io.stderr.write(`mcchat: warning: ${file}:${lineNo}: ${e.error}, skipped\n`);
        }
        continue;
      }
      if (json) out += `${line}\n`;
      else if (e.type === "session") {
        // A marker states its date; a new session starts with nobody known present.
        days.shown(e.time);
        if (e.event === "open") presence = new Presence();
        out += `${formatMarker(e, colors)}\n`;
      } else {
        const dayLine = days.next(e.time, colors);
        if (dayLine !== undefined) out += `${dayLine}\n`;
        const lines = formatPlain(e, colors, { members: presence.see(e) });
        // On a terminal, rows cut at its width, continuation rows indented (wrap.ts).
        for (const l of columns === undefined ? lines : wrapLines(lines, columns)) out += `${l}\n`;
      }
      if (out.length >= CHUNK) await flush();
    }
  } catch (err) {
    await flush();
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`cannot read ${file}: ${e.code ?? e.message}`, 1);
  } finally {
    stream.destroy();
    io.stdout.off?.("error", onOutputError);
  }
  await flush();
  if (gone) return 0;
  if (bad > MAX_WARNINGS) {
    io.stderr.write(
      `mcchat: warning: ${file}: ${bad - MAX_WARNINGS} more lines skipped (${bad} of ${lineNo} in all)\n`,
    );
  }
  return bad > 0 ? 1 : 0;
}
