/**
 * Reading what an mcchat process printed: its `--json` event lines on stdout and its
 * `--stats` line on stderr, and bounded polling for either.
 */
import type { Proc } from "./process.ts";

/** One `--json` line (README "Pipes and scripts"); fields absent where a kind has none. */
export type JsonEvent = {
  type: string;
  time: string;
  from?: string;
  text?: string;
  nick?: string;
  old?: string;
  id?: string;
  seq?: number;
  count?: number;
  legacy?: boolean;
  history?: boolean;
  /** A relayed history line: the member that re-sent it. */
  via?: { nick: string; id: string };
  reason?: string;
};

/** Every `--json` event `p` printed so far. */
export const events = (p: Proc) => p.json<JsonEvent>();

/** The "message" events (framed peers also cause join/leave lines). */
export const messages = (p: Proc) => events(p).filter((e) => e.type === "message");

/** Texts of the messages `p` printed, in output order. */
export const messageTexts = (p: Proc) => messages(p).map((e) => e.text ?? "");

/** Texts of the messages from the instance `id` (undefined: those without one, i.e. legacy). */
export const textsFrom = (p: Proc, id: string | undefined) =>
  messages(p)
    .filter((e) => e.id === id)
    .map((e) => e.text ?? "");

/** The events (join, message, leave, …) of the member `nick` that `p` printed. */
export const said = (p: Proc, nick: string) => events(p).filter((e) => e.nick === nick);

/** Whether `p` printed a message with exactly `text`. */
export const gotText = (p: Proc, text: string) =>
  events(p).some((e) => e.type === "message" && e.text === text);

/** Instance id of the member `nick` as `p` saw it join, once it has. */
export const joinedId = (p: Proc, nick: string) =>
  events(p).find((e) => e.type === "join" && e.nick === nick)?.id;

/** Polls `p`'s JSON lines until one satisfies `pred` (bounded; fails early if `p` exits). */
export async function waitEvent(
  p: Proc,
  pred: (e: JsonEvent) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<JsonEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = events(p).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline || p.exited) {
      throw new Error(`no event: ${what} (after ${timeoutMs} ms)\n${p.describe()}`);
    }
    await Bun.sleep(20);
  }
}

/** Polls until `cond()` holds (bounded); throws with `what` and the processes' output. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  procs: Proc[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms: ${what}\n${procs.map((p) => p.describe()).join("\n")}`,
      );
    }
    await Bun.sleep(10);
  }
}

/** The counters of `--stats` (src/cli.ts prints them on stderr at exit). */
export interface Stats {
  sent: number;
  received: number;
  repaired: number;
  repairsSent: number;
  nacksSent: number;
  nacksHeard: number;
  suppressed: number;
  duplicates: number;
  lost: number;
  malformed: number;
}

const STATS_RE =
  /^mcchat: stats: sent (\d+), received (\d+), repaired (\d+) \(repairs sent (\d+)\), NACKs sent (\d+) \/ heard (\d+) \/ suppressed (\d+), duplicates dropped (\d+), lost (\d+), malformed (\d+),/;

/** The --stats line of an exited process. */
export function statsOf(p: Proc): Stats {
  const line = p.lines("stderr").find((l) => STATS_RE.test(l));
  if (!line) throw new Error(`no --stats line\n${p.describe()}`);
  const n = (STATS_RE.exec(line) as RegExpExecArray).slice(1).map(Number) as number[];
  const [sent, received, repaired, repairsSent, nacksSent, nacksHeard, suppressed] = n;
  const [duplicates, lost, malformed] = n.slice(7);
  return {
    sent,
    received,
    repaired,
    repairsSent,
    nacksSent,
    nacksHeard,
    suppressed,
    duplicates,
    lost,
    malformed,
  } as Stats;
}

const SEALED_STATS_RE =
  /encrypted room: undecryptable (\d+), replayed (\d+), plaintext dropped (\d+)$/;

/** The --stats counters of an encrypted room (src/join.ts formatStats; 0.2 and 0.3 print this tail too). */
export function sealedStatsOf(p: Proc) {
  const line = p
    .lines("stderr")
    .find((l) => l.startsWith("mcchat: stats:") && SEALED_STATS_RE.test(l));
  if (!line) throw new Error(`no encrypted-room --stats line\n${p.describe()}`);
  const [undecryptable, replayed, plaintextDropped] = (
    SEALED_STATS_RE.exec(line) as RegExpExecArray
  )
    .slice(1)
    .map(Number) as [number, number, number];
  return { undecryptable, replayed, plaintextDropped };
}

/** stderr lines of `p` other than the --stats line. */
export const saidOnStderr = (p: Proc) =>
  p.lines("stderr").filter((l) => !l.startsWith("mcchat: stats:"));
