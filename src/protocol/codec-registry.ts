/**
 * Every frame type's body codec, by name and by wire code: v1's (codecs.ts) and v1.1's
 * (stream-codecs.ts). A new frame type is its codec plus one line here.
 */
import type { BodyCodec } from "./codecs.ts";
import { bye, gone, heartbeat, hello, historyReq, message, nack, report } from "./codecs.ts";
import { presence, record, streamGone, streamNack, streamReport } from "./stream-codecs.ts";
import type { Frame, FrameType } from "./types.ts";

/** Body codec by frame type name. */
export const codecs: { [T in FrameType]: BodyCodec<Extract<Frame, { type: T }>> } = {
  hello,
  heartbeat,
  bye,
  message,
  nack,
  gone,
  history_req: historyReq,
  report,
  presence,
  record,
  stream_nack: streamNack,
  stream_gone: streamGone,
  stream_report: streamReport,
};

/** Body codec by wire type code; undefined for unknown and reserved codes. */
export const codecByCode: ReadonlyMap<number, BodyCodec<Frame>> = new Map(
  Object.values(codecs).map((c) => [c.code, c as BodyCodec<Frame>]),
);
