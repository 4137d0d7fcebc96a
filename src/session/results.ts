/** What a session's actions give back: a record sent (and later its delivery), a drain. */

/** What became of a record we sent, as far as the room's reports tell. */
export interface DeliveryState {
  /** Members (instance ids) that reported having it (or having given up on it). */
  reached: string[];
  /** Members present when it went out that left, fell behind or did not report in time. */
  missed: string[];
}

/** The result of send(): where the record went in our stream, and later its delivery state. */
export interface SendResult {
  /** Our instance id. */
  id: string;
  /** The stream it went in (0: the conversation). */
  stream: number;
  /** Seq of its first fragment; undefined in a raw (legacy) room, which has no seqs. */
  seq?: number;
  /** Fragments (datagrams) it took in the stream; 0 in a raw room. */
  fragments: number;
  /**
   * Resolves once every member that was receiving our stream when it went out has reported
   * having it, or has left or fallen behind; bounded in time. A raw room resolves at once
   * with nobody reached (it cannot tell).
   */
  delivery(): Promise<DeliveryState>;
}

/** How a pipe sender's drain after EOF ended. */
export interface DrainResult {
  /** Members still behind our tail when we stopped waiting (nick or id). */
  behind: string[];
}
