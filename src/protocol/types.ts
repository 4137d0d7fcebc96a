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
  /** Flag COMPAT: a v1.1 member's v1 view for 0.2 members (PROTOCOL.md §12.6). */
  compat?: boolean;
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
  /** Flag COMPAT: a v1.1 member's v1 view for 0.2 members (PROTOCOL.md §12.6). */
  compat?: boolean;
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
  /** Flag COMPAT: about a v1.1 member's v1 view (PROTOCOL.md §12.6). */
  compat?: boolean;
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

// ---- v1.1: numbered streams of typed records (PROTOCOL.md §12) ----

/** `count` consecutive seqs (1..255) of one record `kind`: a piece of a stream's kind map. */
export interface KindRun {
  /** Record kind, 1..255. */
  kind: number;
  /** 1..255 */
  count: number;
}

/** One stream a member has used, as its PRESENCE announces it. */
export interface StreamState {
  /** Stream number, 0..255 (0 the conversation, 1 bulk). */
  stream: number;
  /** u32: the highest seq used in it. */
  tail: number;
  /** The kinds of the seqs up to the tail, newest first (0..MAX_RUNS runs). */
  runs: KindRun[];
}

/**
 * v1.1 HELLO / HEARTBEAT / BYE in one type. Header seq: a counter the sender increases with
 * every PRESENCE it sends (receivers drop one that is not newer than the last they took).
 */
export interface PresenceFrame extends Base {
  type: "presence";
  phase: "hello" | "heartbeat" | "bye";
  nick: string;
  /** u48 ms since this instance started (monotonic), as in v1 presence frames. */
  age: number;
  /** Flag REPORT-WANTED. */
  reportWanted?: boolean;
  /** The streams the sender has used (STREAM options, stream numbers unique). */
  streams: StreamState[];
  /** The record kinds the sender reads (KINDS option), when it sent one. */
  kinds?: number[];
  /**
   * (mcchat 0.5, §13) Per stream of ours: whom we ask for reports (FEEDBACK options, stream
   * numbers unique). Present on every PRESENCE of a sender that paces itself by a few reports.
   */
  feedback?: StreamFeedback[];
  /** (mcchat 0.5, §13) The sender's ambient heartbeat interval, ms (INTERVAL option). */
  intervalMs?: number;
}

/** A FEEDBACK option (§13): how the sender of a stream wants to hear of its receivers. */
export interface StreamFeedback {
  /** Stream number, 0..255. */
  stream: number;
  /**
   * u32: every member the sender waits for has consumed every seq before it, as far as the
   * sender knows (its window's floor). A report below it never suppresses another (§13.2).
   */
  floor: number;
  /**
   * u32. With REPORT-WANTED: members that have not consumed every seq before it report, after
   * a suppression back-off (§13.2). Without: informative only.
   */
  watermark: number;
  /** Members named to report on the regular schedule (the slowest first), 0..5 instance ids. */
  named: string[];
}

/**
 * v1.1: one fragment of a typed record. Header seq = this fragment's seq in its stream; the
 * fragments of one record have consecutive seqs. The body (all fragments' payloads joined) is
 * the kind's own encoding: the stream layer never looks inside it.
 */
export interface RecordFrame extends Base {
  type: "record";
  stream: number;
  /** 1..255 */
  kind: number;
  /** 0-based, < fragCount. */
  fragIndex: number;
  /** 1..MAX_FRAGMENTS. */
  fragCount: number;
  repair: boolean;
  history: boolean;
  /** The kinds of the seqs just before this one in its stream, newest first. */
  runs: KindRun[];
  /** 0..MAX_FRAGMENT_PAYLOAD bytes of the record's body. */
  payload: Uint8Array;
}

/** v1.1 NACK: "instance `target`, please resend these seqs of your stream `stream`". */
export interface StreamNackFrame extends Base {
  type: "stream_nack";
  target: string;
  stream: number;
  ranges: SeqRange[];
}

/** v1.1 GONE: "these seqs of my stream `stream` are no longer in my repair buffer". */
export interface StreamGoneFrame extends Base {
  type: "stream_gone";
  stream: number;
  ranges: SeqRange[];
}

/** One v1.1 REPORT entry: how far the reporter got in one stream of one sender. */
export interface StreamReportEntry extends ReportEntry {
  stream: number;
}

/** v1.1 REPORT: entries per (sender, stream). */
export interface StreamReportFrame extends Base {
  type: "stream_report";
  /** 1..MAX_REPORT_ENTRIES entries. */
  entries: StreamReportEntry[];
}

export type Frame =
  | HelloFrame
  | HeartbeatFrame
  | ByeFrame
  | MessageFrame
  | NackFrame
  | GoneFrame
  | HistoryReqFrame
  | ReportFrame
  | PresenceFrame
  | RecordFrame
  | StreamNackFrame
  | StreamGoneFrame
  | StreamReportFrame;

export type FrameType = Frame["type"];
