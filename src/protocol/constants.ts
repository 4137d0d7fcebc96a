/** Wire constants of protocol v1. PROTOCOL.md is the normative description. */

/** First magic byte: never the first byte of UTF-8, GBK, GB18030, Big5 or Shift_JIS text. */
export const MAGIC_0 = 0xff;
/** Second magic byte: ASCII 'M'. */
export const MAGIC_1 = 0x4d;
export const PROTOCOL_VERSION = 1;

/** Wire type codes. 0x00 is invalid; see PROTOCOL.md for the reserved ranges. */
export const TypeCode = {
  hello: 0x01,
  heartbeat: 0x02,
  bye: 0x03,
  message: 0x04,
  /** v1.1: HELLO/HEARTBEAT/BYE with options (streams, the kinds it reads). */
  presence: 0x05,
  /** v1.1: one fragment of a typed record in one of the sender's streams. */
  record: 0x06,
  nack: 0x10,
  gone: 0x11,
  history_req: 0x12,
  report: 0x13,
  /** v1.1: NACK, GONE and REPORT for a numbered stream. */
  stream_nack: 0x14,
  stream_gone: 0x15,
  stream_report: 0x16,
} as const;

/**
 * Reserved for encrypted ("sealed") frames (PROTOCOL.md §10). `decode` rejects all of them as
 * unknown: a sealed datagram is opened (src/protocol/sealed.ts) before its inner frame is decoded.
 */
export const SEALED_TYPE_FIRST = 0x40;
export const SEALED_TYPE_LAST = 0x4f;
/** SEALED: one AES-256-GCM sealed v1 frame (PROTOCOL.md §10). Not a TypeCode: no Frame type. */
export const SEALED_TYPE = 0x40;

/** Flag bits of the header flags byte of MESSAGE and RECORD (presence types: see PresenceFlag). */
export const Flag = {
  /** MESSAGE only: a /me action (a RECORD's kind says that in its body). */
  action: 0x01,
  repair: 0x02,
  history: 0x04,
  /**
   * v1.1, on v1 HELLO/HEARTBEAT/BYE, MESSAGE and GONE: sent by a v1.1 member as its "v1 view"
   * for the 0.2 members in the room (PROTOCOL.md §12.6). A v1 receiver ignores the bit, as it
   * ignores every reserved bit; a v1.1 receiver ignores the frame (it reads the v1.1 frames).
   */
  compat: 0x08,
} as const;

/**
 * Flag bits of HELLO/HEARTBEAT/BYE. A hint only: receivers that do not know a bit ignore it.
 * `reportWanted`: the sender is waiting for receiver reports (its flow-control window is full,
 * or it is draining before it leaves): members receiving from it send a REPORT now.
 */
export const PresenceFlag = {
  reportWanted: 0x01,
} as const;

/** PRESENCE phases (v1.1): what HELLO, HEARTBEAT and BYE are in v1. */
export const PresencePhase = { hello: 1, heartbeat: 2, bye: 3 } as const;

/** PRESENCE option types (v1.1, type-length-value; unknown types are skipped). */
export const PresenceOption = {
  /** One stream the sender has used: stream u8, tail u32, kind runs (repeatable). */
  stream: 0x01,
  /** The record kinds this member reads (its capabilities): kind codes, u8 each. */
  kinds: 0x02,
  /** (§13) Per stream: floor u32, watermark u32, the members named to report (repeatable). */
  feedback: 0x03,
  /** (§13) The sender's ambient heartbeat interval: u32 ms. */
  interval: 0x04,
} as const;

/** Members a FEEDBACK option names to report on the regular schedule, at most (CLR + 4 PLR). */
export const MAX_NAMED_REPORTERS = 5;

/** Streams of a sender (v1.1). Other numbers are reserved; receivers ignore unknown streams. */
export const Stream = {
  /** The conversation: text and the records that go with it. */
  conversation: 0,
  /** Bulk data (files), with its own window so it never holds up the conversation. */
  bulk: 1,
} as const;

/**
 * Record kinds (v1.1, one byte). 0 is invalid. 0x01-0x3F conversation kinds, 0x40-0x7F bulk
 * kinds, 0x80-0xEF reserved, 0xF0-0xFF experimental: never assigned, for tests and trials.
 */
export const RecordKind = {
  text: 0x01,
} as const;
/** First experimental record kind (0xF0-0xFF): never assigned to a feature. */
export const EXPERIMENTAL_KIND_FIRST = 0xf0;

/** magic(2) version(1) type(1) flags(1) instance id(8) seq(4). */
export const HEADER_LENGTH = 17;
export const MAX_NICK_BYTES = 32;
/** Text bytes carried by one MESSAGE fragment, at most. */
export const MAX_FRAGMENT_PAYLOAD = 1200;
/** UTF-8 bytes of one whole message, at most. */
export const MAX_MESSAGE_BYTES = 65536;
/** Fragments of one message, at most (ceil(65536 / 1200) = 55, with headroom). */
export const MAX_FRAGMENTS = 64;
/** Seq ranges in one NACK or GONE, at most. */
export const MAX_RANGES = 32;
/** Entries (one per reported sender) in one REPORT, at most. */
export const MAX_REPORT_ENTRIES = 32;
/** Largest possible v1 frame: a MESSAGE with a 32-byte nick and a full fragment. */
export const MAX_FRAME_BYTES =
  HEADER_LENGTH + 1 + MAX_NICK_BYTES + 6 + 2 + 2 + 2 + MAX_FRAGMENT_PAYLOAD;
/** Kind runs in one RECORD (or one PRESENCE stream option), at most. */
export const MAX_RUNS = 8;
/** STREAM options in one PRESENCE, at most. */
export const MAX_PRESENCE_STREAMS = 16;
/** Largest RECORD: header, stream, kind, fragment index and count, MAX_RUNS runs, a full payload. */
export const MAX_RECORD_FRAME_BYTES =
  HEADER_LENGTH + 1 + 1 + 1 + 1 + 1 + 2 * MAX_RUNS + 2 + MAX_FRAGMENT_PAYLOAD;
/** Bytes of one record's body (all its fragments together), at most. */
export const MAX_RECORD_BYTES = MAX_FRAGMENTS * MAX_FRAGMENT_PAYLOAD;
