/** Framed wire protocol v1 and v1.1: pure codecs, no I/O. See PROTOCOL.md beside this file. */

export { codecs } from "./codec-registry.ts";
export type { BodyCodec } from "./codecs.ts";
export {
  EXPERIMENTAL_KIND_FIRST,
  Flag,
  HEADER_LENGTH,
  MAGIC_0,
  MAGIC_1,
  MAX_FRAGMENT_PAYLOAD,
  MAX_FRAGMENTS,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NICK_BYTES,
  MAX_PRESENCE_STREAMS,
  MAX_RANGES,
  MAX_RECORD_BYTES,
  MAX_RECORD_FRAME_BYTES,
  MAX_REPORT_ENTRIES,
  MAX_RUNS,
  PROTOCOL_VERSION,
  PresenceFlag,
  PresenceOption,
  PresencePhase,
  RecordKind,
  SEALED_TYPE,
  SEALED_TYPE_FIRST,
  SEALED_TYPE_LAST,
  Stream,
  TypeCode,
} from "./constants.ts";
export { DecodeError, type DecodeErrorReason } from "./decode-error.ts";
export {
  checkMessageSize,
  fragmentBody,
  fragmentText,
  joinBody,
  joinFragments,
} from "./fragment.ts";
export { decode, encode, encodingLength, tryDecode } from "./frame.ts";
export {
  decodeFresh,
  encodeFresh,
  type Fresh,
  isFresh,
  MAX_ECHOES,
  NONCE_LENGTH,
} from "./fresh.ts";
export { isFramed } from "./header.ts";
export { idFromBytes, idToBytes, isInstanceId, randomInstanceId } from "./instance-id.ts";
export { nickBytes } from "./nick.ts";
export {
  deriveRoomKey,
  deriveSendKey,
  isSealed,
  KEY_SALT_LENGTH,
  MAX_COUNTER,
  MAX_SEALED_BYTES,
  MIN_SEALED_BYTES,
  type OpenedFrame,
  openFrame,
  ROOM_KEY_SCRYPT,
  readSealedHeader,
  roomKeySalt,
  SEALED_HEADER_LENGTH,
  SEALED_OVERHEAD,
  sealFrame,
  TAG_LENGTH,
} from "./sealed.ts";
export { seqAdd, seqDiff, seqLess } from "./seq.ts";
export {
  decodeTextRecord,
  encodeTextRecord,
  type TextRecord,
  textRecordLength,
} from "./text-record.ts";
export type {
  ByeFrame,
  Frame,
  FrameType,
  GoneFrame,
  HeartbeatFrame,
  HelloFrame,
  HistoryReqFrame,
  KindRun,
  MessageFrame,
  NackFrame,
  PresenceFrame,
  RecordFrame,
  ReportEntry,
  ReportFrame,
  SeqRange,
  StreamGoneFrame,
  StreamNackFrame,
  StreamReportEntry,
  StreamReportFrame,
  StreamState,
} from "./types.ts";
