/**
 * /who (pure): the members with a count, idle time since each one's last MESSAGE (heartbeats
 * say a member is there, not that it is talking), columns aligned by display width (a CJK
 * character takes two), and pages that fit the terminal: one line per member while they fit,
 * else several members per line, else pages (`/who 2`). A big room (more than WHO_LIST_MAX)
 * gets counts first: `/who` says how many and how to see names (`/who all`, a page, a prefix).
 */
import type { SessionEvent } from "../session/events.ts";
import type { MemberInfo } from "../session/member-info.ts";
import { type Colors, nickColor } from "./colors.ts";
import { displayName, hostOf } from "./format.ts";

/** Members whose last message time is remembered at most (the peer table bounds them too). */
export const MAX_SPEAKERS = 4096;
/** Rows of the screen /who leaves free (the command's echo, the prompt). */
export const WHO_RESERVED_ROWS = 3;
/** Blank columns between two members on a line. */
export const WHO_GAP = 3;
/** Rooms bigger than this get counts from a bare `/who`, names on request. */
export const WHO_LIST_MAX = 50;

/** When each member last said something (message events seen by the chat). */
export class LastSpoke {
  private readonly at = new Map<string, number>();

  note(e: SessionEvent): void {
    if (e.type === "leave") {
      this.at.delete(e.id);
      return;
    }
    if (e.type !== "message" || e.history || e.id === undefined) return;
    this.at.delete(e.id); // re-inserted last: the oldest go first when full
    this.at.set(e.id, e.time.getTime());
    if (this.at.size > MAX_SPEAKERS) {
      const oldest = this.at.keys().next().value;
      if (oldest !== undefined) this.at.delete(oldest);
    }
  }

  get(id: string): number | undefined {
    return this.at.get(id);
  }
}

/** 4s, 12m, 3h, 2d. */
export function shortIdle(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `text` padded with spaces to `width` display columns. */
export function padWidth(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - Bun.stringWidth(text)));
}

export interface WhoOptions {
  now: number;
  colors: Colors;
  /** Last message time per member id (absent: has not spoken while we were here). */
  spokeAt: (id: string) => number | undefined;
  /** The terminal's size (default 80x24). */
  columns?: number;
  rows?: number;
  /** 1-based page (`/who 2`). */
  page?: number;
}

interface Row {
  m: MemberInfo;
  name: string;
  host: string;
  idle: string;
}

/** /who's lines (after the room line). */
export function whoListing(members: readonly MemberInfo[], o: WhoOptions): string[] {
  if (members.length === 0) {
    return ["no member list: legacy (--raw) peers do not announce themselves"];
  }
  const c = o.colors;
  const columns = o.columns !== undefined && o.columns > 0 ? o.columns : 80;
  const budget = Math.max(
    3,
    (o.rows !== undefined && o.rows > 0 ? o.rows : 24) - WHO_RESERVED_ROWS,
  );
  const rows: Row[] = members.map((m) => {
    const spoke = o.spokeAt(m.id);
    return {
      m,
      name: displayName(m.nick, m.id, members),
      host: m.self ? "you" : hostOf(m.from),
      idle: m.self ? "" : spoke === undefined ? "-" : shortIdle(o.now - spoke),
    };
  });
  rows.sort((a, b) => (a.m.self !== b.m.self ? (a.m.self ? -1 : 1) : a.name.localeCompare(b.name)));
  const count = members.length === 1 ? "1 member" : `${members.length} members`;
  const nameW = Math.max(...rows.map((r) => Bun.stringWidth(r.name)));
  const hostW = Math.max(...rows.map((r) => r.host.length));
  const idleW = Math.max(...rows.map((r) => r.idle.length));
  const paint = (r: Row, w: number) =>
    nickColor(r.name, c)(r.name) + padWidth("", w - Bun.stringWidth(r.name));

  // One line per member while they fit (with the address and what old members can read).
  if (rows.length + 1 <= budget) {
    return [
      `${count}:`,
      ...rows.map((r) => {
        if (r.m.self) return `  ${paint(r, nameW)}  you`;
        const old = r.m.wire === "1.0" ? "  (mcchat 0.2: text only)" : "";
        const idle = r.idle === "-" ? "no message yet" : `idle ${r.idle}`;
        return `  ${paint(r, nameW)}  ${r.host.padEnd(hostW)}  ${idle}${old}`;
      }),
    ];
  }

  // Several members per line: name and idle time (ourselves marked "you").
  const cellW = nameW + 1 + Math.max(idleW, 3);
  const perLine = Math.max(1, Math.floor((columns - 2 + WHO_GAP) / (cellW + WHO_GAP)));
  const linesPerPage = budget - 2;
  const perPage = perLine * linesPerPage;
  const pages = Math.max(1, Math.ceil(rows.length / perPage));
  const page = Math.min(Math.max(1, o.page ?? 1), pages);
  const slice = rows.slice((page - 1) * perPage, page * perPage);
  const lineCount = Math.ceil(slice.length / perLine);
  const out = [`${count} (idle since the last message):`];
  // Down the columns first (like ls): names stay in order reading down.
  for (let line = 0; line < lineCount; line++) {
    const cells: string[] = [];
    for (let col = 0; col < perLine; col++) {
      const r = slice[col * lineCount + line];
      if (!r) continue;
      const idle = r.m.self ? "you" : r.idle;
      cells.push(`${paint(r, nameW)} ${idle.padStart(Math.max(idleW, 3))}`);
    }
    out.push(`  ${cells.join(" ".repeat(WHO_GAP))}`.trimEnd());
  }
  if (pages > 1) out.push(`page ${page} of ${pages}: /who ${page < pages ? page + 1 : 1} for more`);
  return out;
}

const count = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/**
 * `/who [arg]`: the listing as whoListing gives it while the room has at most WHO_LIST_MAX
 * members (or with `all`, or a page number); in a bigger room a bare `/who` gives counts and
 * the ways to see names, and `/who PREFIX` the members whose nick starts with it.
 */
export function whoCommand(members: readonly MemberInfo[], arg: string, o: WhoOptions): string[] {
  const a = arg.trim();
  if (/^\d{1,6}$/.test(a)) return whoListing(members, { ...o, page: Number(a) });
  if (a.toLowerCase() === "all") {
    return whoListing(members, { ...o, rows: Number.POSITIVE_INFINITY, page: 1 });
  }
  if (a !== "") {
    const p = a.toLowerCase();
    const found = members.filter((m) => m.nick.toLowerCase().startsWith(p));
    if (found.length === 0)
      return [`no member's nick starts with "${a}" (${count(members.length, "member")})`];
    const lines = whoListing(found, { ...o, page: 1 }).slice(1);
    if (lines.at(-1)?.startsWith("page "))
      lines[lines.length - 1] = "… and more: a longer prefix narrows it";
    return [
      `${count(found.length, "member")} of ${members.length.toLocaleString("en-US")} named ${a}…:`,
      ...lines,
    ];
  }
  if (members.length <= WHO_LIST_MAX) return whoListing(members, o);
  const old = members.filter((m) => m.wire === "1.0").length;
  const now = o.now;
  const talked = members.filter((m) => {
    const t = o.spokeAt(m.id);
    return !m.self && t !== undefined && now - t <= WHO_RECENT_MS;
  }).length;
  const kinds = old > 0 ? ` (${old.toLocaleString("en-US")} of them mcchat 0.2: text only)` : "";
  return [
    `${count(members.length, "member")}${kinds}, ${talked.toLocaleString("en-US")} spoke in the last ${WHO_RECENT_MS / 60_000} minutes`,
    "names: /who all, /who 1 (a page), or /who PREFIX (nicks starting with it)",
  ];
}

/** "Spoke lately" in a big room's /who counts: a message within this (ms). */
export const WHO_RECENT_MS = 10 * 60_000;
