/** Counters a session keeps; shown by /stats and --stats. */
export interface SessionStats {
  /** Messages we sent. */
  sent: number;
  /** Messages delivered to us (legacy and framed, history not counted). */
  received: number;
  datagramsSent: number;
  datagramsReceived: number;
  /** Repairs we sent in answer to NACKs. */
  repairsSent: number;
  /** Repairs we received. */
  repairsReceived: number;
  nacksSent: number;
  nacksHeard: number;
  /** Our NACKs not sent because another member asked first. */
  nacksSuppressed: number;
  duplicates: number;
  /** Datagrams declared lost (never repaired). */
  lost: number;
  /** Seqs holding records of a kind this member does not read, passed over in silence. */
  skipped: number;
  /** Datagrams that could not be decoded (counted and dropped). */
  malformed: number;
  /** Receive buffer the kernel gave (bytes), 0 if unknown. */
  recvBufferBytes: number;
  /** REPORT frames (flow-control feedback) sent and heard. */
  reportsSent: number;
  reportsHeard: number;
  /** Answers to a question we did not send: another member at or below us answered (§13.2). */
  reportsSuppressed: number;
  /** REPORTs from an instance not (yet) announced, or gone: not used (kept until it announces). */
  reportsIgnored: number;
  /** Times a send waited for the flow-control window (a member was behind). */
  flowWaits: number;
  /** Our messages also sent as legacy text to the room's classic programs. */
  bridged: number;
  /** Frames claiming a member's instance id from another address:port (dropped). */
  spoofed: number;
  /** Frames of new instances not taken in: the member table was full of present members. */
  peersRefused: number;
  /**
   * N̂, the room size estimate (ourselves included): members present, and those past the
   * member cap heard lately. 0 where there is no member list (raw).
   */
  roomSize: number;
  /** Our ambient heartbeat interval now (ms; it grows with the room); 0 where none. */
  heartbeatIntervalMs: number;
  /** Out-of-order fragments not held: the hold budget was full (they are NACKed later). */
  holdRefused: number;
  /** NACKed seqs not repaired: the requester's repair budget (per second) was spent. */
  repairsRefused: number;
  /** Event listener (or sink) calls that threw: isolated, the first one warned about. */
  listenerErrors: number;
  /** HISTORY_REQs not answered: too soon after the last answer (to anyone, or to it). */
  historyRefused: number;
  /** Encrypted room: datagrams that would not open (wrong passphrase, forged, damaged). */
  undecryptable: number;
  /** Encrypted room: sealed datagrams seen before (replays), dropped. */
  replayed: number;
  /** Encrypted room: plaintext frames and legacy text, dropped. */
  plaintextDropped: number;
}

export function emptyStats(): SessionStats {
  return {
    sent: 0,
    received: 0,
    datagramsSent: 0,
    datagramsReceived: 0,
    repairsSent: 0,
    repairsReceived: 0,
    nacksSent: 0,
    nacksHeard: 0,
    nacksSuppressed: 0,
    duplicates: 0,
    lost: 0,
    skipped: 0,
    malformed: 0,
    recvBufferBytes: 0,
    reportsSent: 0,
    reportsHeard: 0,
    reportsSuppressed: 0,
    reportsIgnored: 0,
    flowWaits: 0,
    bridged: 0,
    spoofed: 0,
    peersRefused: 0,
    roomSize: 0,
    heartbeatIntervalMs: 0,
    holdRefused: 0,
    repairsRefused: 0,
    listenerErrors: 0,
    historyRefused: 0,
    undecryptable: 0,
    replayed: 0,
    plaintextDropped: 0,
  };
}
