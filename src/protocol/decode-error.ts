/**
 * Why a framed datagram was rejected. Stable strings: the session may count or log them.
 * `unsupported-version` and `unknown-type` usually mean a newer peer; everything else
 * means a damaged or hostile datagram.
 */
export type DecodeErrorReason =
  | "not-framed"
  | "unsupported-version"
  | "unknown-type"
  | "truncated"
  | "trailing-bytes"
  | "bad-nick"
  | "bad-text"
  | "bad-fragment"
  | "bad-ranges"
  | "bad-count"
  /** v1.1: a PRESENCE option that does not fit its type-length-value frame or its rules. */
  | "bad-option"
  /** v1.1: a RECORD's stream header: kind 0, or kind runs out of bounds. */
  | "bad-record"
  /** Sealed datagram (PROTOCOL.md §10) whose tag does not verify: wrong key, forged or damaged. */
  | "bad-seal";

/** The only exception the frame decoder throws, for any input. */
export class DecodeError extends Error {
  readonly reason: DecodeErrorReason;
  constructor(reason: DecodeErrorReason, detail?: string) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = "DecodeError";
    this.reason = reason;
  }
}
