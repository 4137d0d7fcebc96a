/**
 * Decoded frames of protocol v1. Every frame carries the sender's instance `id` (16 lowercase
 * hex digits) and a `seq` (u32): for "message" the datagram's own sequence number, for every
 * other type the sender's highest sequence number used so far (its tail). See PROTOCOL.md.
 */

/** `count` consecutive sequence numbers from `start` (circular: may wrap past 2^32 - 1). */
export interface SeqRange {
  /** u32 */
  start: number;
  /** u16, 1..65535 */
  count: number;
}

interface Base {
  /** Sender instance id: 16 lowercase hex digits. */
  id: string;
  /** u32, see above. */
  seq: number;
}

/**
 * Fields shared by HELLO, HEARTBEAT and BYE (the "presence" frames). `age` lets a receiver tell,
 * on its own monotonic clock and without comparing wall clocks between hosts, whether this
 * instance started before or after the receiver joined (it started at about `arrival - age`):
 * see PROTOCOL.md §5.1 ("Where a receiver starts").
 */
interface Presence extends Base {
  nick: string;
  /**
   * u48: ms since this instance started, read from a monotonic clock (performance.now) when the
   * frame is sent. Grows with every frame; never a wall-clock time.
   */
  age: number;
  /** Flag REPORT-WANTED: the sender waits for receiver reports (PROTOCOL.md §8). */
  reportWanted?: boolean;
}

/** Joining the group. Header seq = tail (0xFFFFFFFF if nothing sent yet: instances start at 0). */
export interface HelloFrame extends Presence {
  type: "hello";
}

/** Periodic liveness + tail announcement; a changed nick here is a nick change. */
export interface HeartbeatFrame extends Presence {
  type: "heartbeat";
}

/** Leaving the group. */
export interface ByeFrame extends Presence {
  type: "bye";
}

/** One fragment of a chat message. Fragment i of n has seq = firstSeq + i (circular). */
export interface MessageFrame extends Base {
  type: "message";
  nick: string;
  /** Send time of the whole message, ms since the Unix epoch (u48). Same on every fragment. */
  time: number;
  /** 0-based, < fragCount. */
  fragIndex: number;
  /** 1..MAX_FRAGMENTS. */
  fragCount: number;
  /** A /me action. */
  action: boolean;
  /** A retransmission (answer to a NACK). */
  repair: boolean;
  /** Sent as an answer to a HISTORY_REQ. */
  history: boolean;
  /** UTF-8 bytes of this fragment's text, 0..MAX_FRAGMENT_PAYLOAD, valid UTF-8 on its own. */
  payload: Uint8Array;
}

/** "Instance `target`, please resend these." */
export interface NackFrame extends Base {
  type: "nack";
  /** The instance id whose sequence numbers are missing. */
  target: string;
  /** 1..MAX_RANGES ranges. */
  ranges: SeqRange[];
}

/** "These seqs of mine are no longer in my repair buffer: count them as lost." */
export interface GoneFrame extends Base {
  type: "gone";
  /** 1..MAX_RANGES ranges, of the sender's own seqs. */
  ranges: SeqRange[];
}

/** A late joiner asks for the last `count` messages of the room. */
export interface HistoryReqFrame extends Base {
  type: "history_req";
  /** u16, 1..65535 */
  count: number;
  /** u32, chosen at random by the requester, so repliers can tell requests apart. */
  requestId: number;
}

/** One REPORT entry: how far the reporter got in one sender's stream. */
export interface ReportEntry {
  /** The sender instance id reported on: 16 lowercase hex digits. */
  target: string;
  /**
   * u32: every seq of `target` before `next` (circular) has been delivered to the reporter or
   * declared lost; `next` is the first seq the reporter still waits for.
   */
  next: number;
}

/**
 * Receiver report, the cheap feedback for flow control. Header id = the reporter, header seq =
 * the reporter's own tail.
 */
export interface ReportFrame extends Base {
  type: "report";
  /** 1..MAX_REPORT_ENTRIES entries, at most one per target (not checked on the wire). */
  entries: ReportEntry[];
}

export type Frame =
  | HelloFrame
  | HeartbeatFrame
  | ByeFrame
  | MessageFrame
  | NackFrame
  | GoneFrame
  | HistoryReqFrame
  | ReportFrame;

export type FrameType = Frame["type"];
