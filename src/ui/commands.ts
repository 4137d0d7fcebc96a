/**
 * The chat room's slash commands (pure): parsing an input line, the help text and
 * the /stats listing (/who: who.ts). chat.ts does the I/O.
 */
import type { SessionStats } from "../session/stats.ts";
import { statsItems, statsSummary } from "../session/stats-text.ts";

export interface CommandInfo {
  name: string;
  args: string;
  help: string;
}

export const COMMANDS: readonly CommandInfo[] = [
  { name: "help", args: "", help: "this list" },
  {
    name: "who",
    args: "",
    help: "who is in the room (/who 2: page 2, /who all, /who PREFIX)",
  },
  { name: "nick", args: "NEW", help: "change your nickname" },
  { name: "me", args: "ACTION", help: "send an action: * you ACTION" },
  { name: "stats", args: "", help: "traffic summary of this session (/stats all: every counter)" },
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

/** /who's first line: whether outsiders can read and write the room. */
export function roomLine(encrypted: boolean): string {
  return encrypted ? "room: encrypted (AES-256-GCM, passphrase)" : "room: open (not encrypted)";
}

/** `/stats all` packs its counters into lines this wide (an 80-column screen, with "-- "). */
const STATS_LINE_WIDTH = 76;

/**
 * /stats: one line in plain words; `/stats all`: every counter, named as --stats names
 * them, a few per line.
 */
export function statsLines(
  stats: SessionStats,
  arg = "",
  room: { members?: number; encrypted?: boolean } = {},
  width = STATS_LINE_WIDTH,
): string[] {
  if (arg.toLowerCase() !== "all") return [statsSummary(stats, room.members)];
  const out: string[] = [];
  for (const item of statsItems(stats, room)) {
    const last = out.at(-1);
    if (last !== undefined && last.length + 2 + item.length <= width)
      out[out.length - 1] = `${last}, ${item}`;
    else out.push(item);
  }
  return out;
}
