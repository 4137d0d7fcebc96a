/**
 * Why a room command did not happen, as data: a code for programs (the chat room, a JSON
 * command interface, a browser) and the underlying error kept as `cause`. Only the command
 * line or a UI turns it into words for a person; `message` is a plain description to start from.
 */
export type RoomErrorCode =
  /** Not one of the room's verbs. */
  | "unknown-verb"
  /** An argument is missing, of the wrong type or not allowed (an empty message, a bad nick). */
  | "bad-argument"
  /** The room has closed (or closed while the command waited): nothing was done. */
  | "closed"
  /** The session refused it, as the user's doing (a message over 64 KiB, a listen-only room). */
  | "refused"
  /** The session failed (a socket error…): `cause` says how. */
  | "failed";

export class RoomError extends Error {
  override readonly name = "RoomError";
  constructor(
    readonly code: RoomErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
