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
  nack: 0x10,
  gone: 0x11,
  history_req: 0x12,
  report: 0x13,
} as const;

/**
 * Reserved for encrypted ("sealed") frames (PROTOCOL.md §10). `decode` rejects all of them as
 * unknown: a sealed datagram is opened (src/protocol/sealed.ts) before its inner frame is decoded.
 */
export const SEALED_TYPE_FIRST = 0x40;
export const SEALED_TYPE_LAST = 0x4f;
/** SEALED: one AES-256-GCM sealed v1 frame (PROTOCOL.md §10). Not a TypeCode: no Frame type. */
export const SEALED_TYPE = 0x40;

/** Flag bits of the header flags byte of MESSAGE (other types: see PresenceFlag). */
export const Flag = {
  action: 0x01,
  repair: 0x02,
  history: 0x04,
} as const;

/**
 * Flag bits of HELLO/HEARTBEAT/BYE. A hint only: receivers that do not know a bit ignore it.
 * `reportWanted`: the sender is waiting for receiver reports (its flow-control window is full,
 * or it is draining before it leaves): members receiving from it send a REPORT now.
 */
export const PresenceFlag = {
  reportWanted: 0x01,
} as const;

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
