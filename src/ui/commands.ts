/**
 * The chat room's slash commands (pure): parsing an input line, the help text and
 * the /who and /stats listings. chat.ts does the I/O.
 */

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
    help: "who is in the room, idle since last message (/who 2: page 2)",
  },
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

/** /who's first line: whether outsiders can read and write the room. */
export function roomLine(encrypted: boolean): string {
  return encrypted ? "room: encrypted (AES-256-GCM, passphrase)" : "room: open (not encrypted)";
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
