/**
 * Everything a session tells the outside world. The session never renders text; the
 * ui/ layer turns these into terminal lines or JSON lines.
 * `id` is the sender's 64-bit instance id as 16 lowercase hex digits; `from` is
 * "address:port" (IPv6 as "[addr]:port").
 */
export type SessionEvent =
  | {
      type: "message";
      time: Date;
      from: string;
      text: string;
      /** Sent by a legacy peer (raw text datagram, no framing). */
      legacy?: boolean;
      /** Legacy text in an encrypted room (`--allow-plaintext`): nobody vouches for it. */
      unauthenticated?: boolean;
      nick?: string;
      id?: string;
      seq?: number;
      /** A /me action. */
      action?: boolean;
      /** Replayed from the room's history for a late joiner. */
      history?: boolean;
      /**
       * A history line another member re-sent in the line's sender's name (`from` is then that
       * member's address): nothing shows the sender wrote it. Absent when the sender itself sent it.
       */
      via?: { nick: string; id: string };
      /** Our own message, echoed once. */
      self?: boolean;
    }
  | {
      type: "join";
      time: Date;
      from: string;
      nick: string;
      id: string;
      /** Its first presence was a HELLO: it is joining now, not a member already here. */
      joining?: boolean;
    }
  | {
      type: "leave";
      time: Date;
      from: string;
      nick: string;
      id: string;
      reason: "bye" | "timeout";
    }
  | { type: "nick"; time: Date; from: string; nick: string; id: string; old: string }
  | {
      type: "lost";
      time: Date;
      from: string;
      nick: string;
      id: string;
      /** First lost seq of the gap. */
      seq: number;
      /** Datagrams (fragments) lost in this gap. */
      count: number;
      /** Messages lost with them, at most (exact for one-fragment messages). */
      messages: number;
      /** The sender's stream, when not the conversation (0). */
      stream?: number;
    }
  | { type: "warning"; time: Date; text: string }
  /** Something worth saying once, quietly (not a problem): shown as a `--` line. */
  | { type: "info"; time: Date; text: string };

export type SessionEventType = SessionEvent["type"];

/** The echo of a message we sent (shown once: never again through loopback). */
export function ownMessage(
  m: { text: string; nick: string; id?: string; seq?: number; action: boolean },
  time: Date,
): SessionEvent {
  const { text, nick, id, seq, action } = m;
  return {
    type: "message",
    time,
    from: "self",
    text,
    self: true,
    nick,
    id,
    seq,
    action: action || undefined,
  };
}
