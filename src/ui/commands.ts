/**
 * The chat room's slash commands (pure): parsing an input line, the help text and
 * the /who and /stats listings. chat.ts does the I/O.
 */
import type { MemberInfo } from "../session/member-info.ts";
import { type Colors, nickColor } from "./colors.ts";
import { displayName, hostOf } from "./format.ts";

export interface CommandInfo {
  name: string;
  args: string;
  help: string;
}

export const COMMANDS: readonly CommandInfo[] = [
  { name: "help", args: "", help: "this list" },
  { name: "who", args: "", help: "who is in the room (address, idle time); encrypted or not" },
  { name: "nick", args: "NEW", help: "change your nickname" },
  { name: "me", args: "ACTION", help: "send an action: * you ACTION" },
  { name: "stats", args: "", help: "traffic counters of this session" },
  { name: "quit", args: "", help: "leave the room (also Ctrl-D, Ctrl-C)" },
];

export type ParsedInput =
  | { kind: "empty" }
  | { kind: "send"; text: string }
  | { kind: "command"; name: string; arg: string };

/**
 * One input line → what to do. "/name arg" is a command (name lower-cased, arg
 * trimmed); "//text" sends "/text"; a line of only spaces is empty. Message text is
 * otherwise sent exactly as typed.
 */
export function parseInput(line: string): ParsedInput {
  if (line.trim() === "") return { kind: "empty" };
  if (line.startsWith("//")) return { kind: "send", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "send", text: line };
  const m = /^\/(\S*)\s*([\s\S]*)$/.exec(line);
  return { kind: "command", name: (m?.[1] ?? "").toLowerCase(), arg: (m?.[2] ?? "").trim() };
}

/** Known commands starting with `prefix` (without the slash). */
export function commandsMatching(prefix: string): CommandInfo[] {
  const p = prefix.toLowerCase();
  return COMMANDS.filter((c) => c.name.startsWith(p));
}

export function helpLines(): string[] {
  const width = Math.max(...COMMANDS.map((c) => c.name.length + (c.args ? c.args.length + 1 : 0)));
  return [
    ...COMMANDS.map((c) => {
      const usage = c.args ? `${c.name} ${c.args}` : c.name;
      return `/${usage.padEnd(width)}  ${c.help}`;
    }),
    "//text      send a message that starts with /",
    "Tab completes commands and nicks; Up/Down recall earlier lines.",
  ];
}

/** What /who needs to know about a member: the session's MemberInfo. */
export type WhoMember = MemberInfo;

/** /who's first line: whether outsiders can read and write the room. */
export function roomLine(encrypted: boolean): string {
  return encrypted ? "room: encrypted (AES-256-GCM, passphrase)" : "room: open (not encrypted)";
}

/** /who: one line per member, ourselves first, then by display name. */
export function whoLines(members: readonly WhoMember[], now: number, c: Colors): string[] {
  if (members.length === 0) {
    return ["no member list: legacy (--raw) peers do not announce themselves"];
  }
  const rows = members.map((m) => {
    const name = displayName(m.nick, m.id, members);
    return { m, name };
  });
  rows.sort((a, b) => (a.m.self !== b.m.self ? (a.m.self ? -1 : 1) : a.name.localeCompare(b.name)));
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  const fromWidth = Math.max(...rows.map((r) => (r.m.self ? 0 : hostOf(r.m.from).length)), 3);
  const count = members.length === 1 ? "1 member" : `${members.length} members`;
  return [
    `${count}:`,
    ...rows.map(({ m, name }) => {
      const shown = nickColor(name, c)(name) + " ".repeat(nameWidth - name.length);
      if (m.self) return `  ${shown}  ${"you".padEnd(fromWidth)}`.trimEnd();
      const idle = Math.max(0, Math.round((now - m.lastSeen) / 1000));
      // A 0.2 member gets our text (a copy it can read) and nothing else.
      const old = m.wire === "1.0" ? "  (mcchat 0.2: text only)" : "";
      return `  ${shown}  ${hostOf(m.from).padEnd(fromWidth)}  idle ${idle}s${old}`;
    }),
  ];
}

/** "datagramsSent" → "datagrams sent". */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

/** /stats: the session's numeric counters, compactly, a few per line. */
export function statsLines(stats: object, perLine = 4): string[] {
  const items = Object.entries(stats)
    .filter((e): e is [string, number] => typeof e[1] === "number")
    .map(([k, v]) => `${words(k)} ${v}`);
  if (items.length === 0) return ["no counters"];
  const out: string[] = [];
  for (let i = 0; i < items.length; i += perLine) {
    out.push(items.slice(i, i + perLine).join(", "));
  }
  return out;
}
