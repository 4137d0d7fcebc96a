/**
 * SessionEvent → output lines (pure). `formatPlain` for people (every remote string
 * is sanitized), `formatJson` for programs (text exact, one JSON object per line).
 */
import type { SessionEvent } from "../session/events.ts";
import { type Colors, nickColor } from "./colors.ts";
import { nickSkeleton } from "./nick-skeleton.ts";
import { type SanitizeOptions, sanitizeForTerminal, sanitizeNick } from "./sanitize.ts";

/** A member currently present in the room. */
export interface Member {
  nick: string;
  id: string;
  /**
   * When it took this nick, on one clock for all members given together (MemberInfo
   * nickSince). Known for every look-alike, it decides who keeps the nick plain.
   */
  nickSince?: number;
}

/**
 * `a` held its nick before `b`: it took it earlier. Unknown when either time is unknown or they
 * are the same (two members already there when we joined: we cannot tell, and an instance id is
 * the sender's own choice), so both keep their suffix.
 */
function heldBefore(a: Member, b: Member): boolean | undefined {
  if (a.nickSince === undefined || b.nickSince === undefined) return undefined;
  if (a.nickSince === b.nickSince) return undefined;
  return a.nickSince < b.nickSince;
}

export interface FormatOptions extends SanitizeOptions {
  /** Members present now, to tell two people with one nick apart. */
  members?: readonly Member[];
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** Local time as HH:MM:SS. */
export function clock(time: Date): string {
  return `${pad2(time.getHours())}:${pad2(time.getMinutes())}:${pad2(time.getSeconds())}`;
}

/** "10.0.0.2:51234" → "10.0.0.2", "[fe80::1]:5000" → "fe80::1". */
export function hostOf(from: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(from) ?? /^([^:]*):\d+$/.exec(from);
  return m?.[1] ?? from;
}

/** How many nicks' skeletons are remembered (the chat formats every event against every member). */
const SKELETON_CACHE_SIZE = 4096;
const skeletons = new Map<string, string>();

/** The skeleton of `nick` as shown (nick-skeleton.ts), remembered. */
function skeletonOf(nick: string): string {
  let s = skeletons.get(nick);
  if (s === undefined) {
    if (skeletons.size >= SKELETON_CACHE_SIZE) skeletons.clear();
    s = nickSkeleton(sanitizeNick(nick));
    skeletons.set(nick, s);
  }
  return s;
}

/**
 * The name to show for (nick, id): the sanitized nick, plus "#" and the first 4 hex
 * digits of the id (more if 4 do not suffice) when another present member with a
 * different id (ourselves included) shows a nick that could pass for it: the same skeleton
 * (invisible characters removed, NFKD, confusables and case folded: nick-skeleton.ts), so
 * `alice`, `Alice`, `alic\u0435` (Cyrillic e) and `alice` + ZWJ tell themselves apart.
 *
 * The member who held the nick first (heldBefore: every look-alike's nickSince known) keeps
 * it plain; only later holders get the suffix. Without those times, all of them get it.
 */
export function displayName(
  nick: string,
  id: string | undefined,
  present: readonly Member[],
): string {
  const shown = sanitizeNick(nick);
  if (id === undefined) return shown;
  const key = skeletonOf(nick);
  const rivals = present.filter((m) => m.id !== id && skeletonOf(m.nick) === key);
  if (rivals.length === 0) return shown;
  const me = present.find((m) => m.id === id);
  if (me && rivals.every((r) => heldBefore(me, r) === true)) return shown;
  let len = 4;
  while (len < id.length && rivals.some((r) => r.id.startsWith(id.slice(0, len)))) len++;
  return `${shown}#${id.slice(0, len)}`;
}

/** One prefix per sanitized line of `text`. */
function prefixed(prefix: string, text: string, opts: SanitizeOptions, paint = (s: string) => s) {
  return sanitizeForTerminal(text, opts).map((line) => `${prefix}${paint(line)}`);
}

/** Human-readable lines for one event. */
export function formatPlain(event: SessionEvent, c: Colors, opts: FormatOptions = {}): string[] {
  const members = opts.members ?? [];
  const time = c.dim(clock(event.time));
  const notice = (text: string) => [`${time} ${c.dim(`-- ${text}`)}`];
  const who = (nick: string, id: string) => {
    const name = displayName(nick, id, members);
    return nickColor(name, c)(name);
  };
  switch (event.type) {
    case "message": {
      // A relayed history line says who relayed it, before anything its text could imitate.
      const via = event.via ? ` via ${displayName(event.via.nick, event.via.id, members)}` : "";
      const hist = event.history ? `${c.dim(`[history${via}]`)} ` : "";
      if (event.legacy || event.nick === undefined) {
        const from = nickColor(event.from, c)(event.from);
        const unauth = event.unauthenticated ? `${c.yellow("[unauthenticated]")} ` : "";
        return prefixed(`${time} ${hist}${unauth}${from}  `, event.text, opts);
      }
      const name = displayName(event.nick, event.id, members);
      let tag = nickColor(name, c)(event.action ? name : `<${name}>`);
      if (event.self) tag = c.bold(tag);
      const lead = event.action ? `${c.bold("*")} ${tag} ` : `${tag} `;
      return prefixed(`${time} ${hist}${lead}`, event.text, opts);
    }
    case "join":
      return notice(`${who(event.nick, event.id)} joined (${hostOf(event.from)})`);
    case "leave":
      return notice(
        event.reason === "timeout"
          ? `${who(event.nick, event.id)} timed out (${hostOf(event.from)})`
          : `${who(event.nick, event.id)} left (${hostOf(event.from)})`,
      );
    case "nick":
      return notice(`${sanitizeNick(event.old)} is now known as ${who(event.nick, event.id)}`);
    case "lost": {
      const m = event.messages;
      const what = m === 1 ? "1 message" : `${m} messages`;
      const datagrams = event.count === m ? "" : ` (${event.count} datagrams)`;
      return notice(
        `${what}${datagrams} from ${who(event.nick, event.id)} ${m === 1 ? "was" : "were"} lost`,
      );
    }
    case "warning":
      return prefixed(`${time} ${c.yellow("-- warning:")} `, event.text, opts, c.yellow);
    case "info":
      return prefixed(`${time} ${c.dim("--")} `, event.text, opts, c.dim);
  }
}

/** Characters JSON.stringify leaves raw that a terminal or a line splitter may act on. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const JSON_UNSAFE_TEST = new RegExp(JSON_UNSAFE.source);

/**
 * One JSON object, no newline. Strings are kept exact: JSON.stringify escapes C0 and
 * lone surrogates, and DEL, C1, bidi controls and U+2028/2029 are written as \uXXXX
 * too, so the line is safe even when printed raw to a terminal.
 */
export function formatJson(event: SessionEvent): string {
  const base = { type: event.type, time: event.time.toISOString() };
  let body: Record<string, unknown>;
  switch (event.type) {
    case "message":
      body = {
        ...base,
        from: event.from,
        text: event.text,
        nick: event.nick,
        id: event.id,
        seq: event.seq,
        legacy: event.legacy,
        unauthenticated: event.unauthenticated,
        action: event.action,
        history: event.history,
        via: event.via,
        self: event.self,
      };
      break;
    case "join":
      body = { ...base, from: event.from, nick: event.nick, id: event.id };
      break;
    case "leave":
      body = { ...base, from: event.from, nick: event.nick, id: event.id, reason: event.reason };
      break;
    case "nick":
      body = { ...base, from: event.from, nick: event.nick, id: event.id, old: event.old };
      break;
    case "lost":
      body = {
        ...base,
        from: event.from,
        nick: event.nick,
        id: event.id,
        seq: event.seq,
        count: event.count,
        messages: event.messages,
      };
      break;
    case "warning":
    case "info":
      body = { ...base, text: event.text };
      break;
  }
  // JSON.stringify leaves out properties whose value is undefined (key order kept).
  const json = JSON.stringify(body);
  // Most lines hold nothing to escape: test before replacing (a receiver prints 60k lines/s).
  if (!JSON_UNSAFE_TEST.test(json)) return json;
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
