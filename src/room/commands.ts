/**
 * What a client can ask of the room, in one place: the verbs, their arguments and their
 * results, as data. The chat room's /me, /nick, /who and /stats, the pipe's lines and drain,
 * and later a JSON command interface and a browser all come here (through Room.run, which
 * runs them one at a time); none of it is text for a person. A command that cannot be done
 * is a RoomError with a code; the UI says it in words.
 */
import { nickProblem } from "../config/options.ts";
import { UserError } from "../errors.ts";
import type { DrainResult, RoomSession, SendResult } from "../session/room-session.ts";
import { RoomError } from "./room-error.ts";

/** A member as the session lists it (ourselves included, `self: true`). */
export type MemberInfo = ReturnType<RoomSession["members"]>[number];
/** The session's counters (numbers). */
export type RoomStats = RoomSession["stats"];

export type RoomCommand =
  /** Send one message (an action: `/me`). */
  | { verb: "send"; text: string; action?: boolean }
  /** Change our nickname. */
  | { verb: "nick"; nick: string }
  /** Who is in the room, and whether it is encrypted. */
  | { verb: "who" }
  /** The session's counters now. */
  | { verb: "stats" }
  /** After input EOF: wait (bounded) until the room has what we sent. */
  | { verb: "drain"; maxMs?: number };

export type Verb = RoomCommand["verb"];

export interface NickResult {
  old: string;
  /** The nick now; equal to `old` when it was already ours (nothing was sent). */
  nick: string;
}

export interface WhoResult {
  encrypted: boolean;
  /** Ourselves first; empty in a raw (legacy) room, where nobody announces themselves. */
  members: MemberInfo[];
}

export interface VerbResults {
  send: SendResult;
  nick: NickResult;
  who: WhoResult;
  stats: RoomStats;
  drain: DrainResult;
}

export type CommandResult<C extends RoomCommand> = VerbResults[C["verb"]];

type Handlers = {
  [V in Verb]: (
    session: RoomSession,
    command: Extract<RoomCommand, { verb: V }>,
  ) => Promise<VerbResults[V]>;
};

const HANDLERS: Handlers = {
  send: (session, c) => session.send(c.text, c.action ? { action: true } : undefined),
  nick: async (session, c) => {
    const old = session.nick;
    if (c.nick !== old) await session.setNick(c.nick);
    return { old, nick: session.nick };
  },
  who: async (session) => ({ encrypted: session.encrypted, members: session.members() }),
  stats: async (session) => ({ ...session.stats }),
  drain: (session, c) => session.drain(c.maxMs),
};

export const VERBS: readonly Verb[] = Object.keys(HANDLERS) as Verb[];

const isVerb = (v: unknown): v is Verb => typeof v === "string" && Object.hasOwn(HANDLERS, v);

/**
 * `command` checked and copied (unknown fields dropped): what a JSON client sends is taken
 * only through here. Throws RoomError "unknown-verb" or "bad-argument".
 */
export function checkCommand(command: unknown): RoomCommand {
  if (typeof command !== "object" || command === null) {
    throw new RoomError("bad-argument", "a command is an object with a verb");
  }
  const c = command as Record<string, unknown>;
  if (!isVerb(c.verb)) {
    throw new RoomError("unknown-verb", `unknown verb ${JSON.stringify(c.verb ?? null)}`);
  }
  switch (c.verb) {
    case "send": {
      if (typeof c.text !== "string") throw new RoomError("bad-argument", "text must be a string");
      if (c.text === "") throw new RoomError("bad-argument", "an empty message is not sent");
      if (c.action !== undefined && typeof c.action !== "boolean") {
        throw new RoomError("bad-argument", "action must be true or false");
      }
      return c.action
        ? { verb: "send", text: c.text, action: true }
        : { verb: "send", text: c.text };
    }
    case "nick": {
      if (typeof c.nick !== "string") throw new RoomError("bad-argument", "nick must be a string");
      const problem = nickProblem(c.nick);
      if (problem) throw new RoomError("bad-argument", problem);
      return { verb: "nick", nick: c.nick };
    }
    case "drain": {
      if (c.maxMs === undefined) return { verb: "drain" };
      if (typeof c.maxMs !== "number" || !Number.isFinite(c.maxMs) || c.maxMs < 0) {
        throw new RoomError("bad-argument", "maxMs must be a number of milliseconds");
      }
      return { verb: "drain", maxMs: c.maxMs };
    }
    default:
      return { verb: c.verb };
  }
}

/**
 * Runs one checked command on `session`. The session's own refusals (a UserError: a message
 * over 64 KiB, a listen-only room) become "refused", anything else "failed"; the message is
 * the session's, the error itself the cause.
 */
export async function runCommand<C extends RoomCommand>(
  session: RoomSession,
  command: C,
): Promise<CommandResult<C>> {
  const handler = HANDLERS[command.verb] as unknown as (
    s: RoomSession,
    c: C,
  ) => Promise<CommandResult<C>>;
  try {
    return await handler(session, command);
  } catch (err) {
    if (err instanceof RoomError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new RoomError(err instanceof UserError ? "refused" : "failed", message, { cause: err });
  }
}
