/** Frames for the unit tests of src/session. */
import type { MessageFrame } from "../../src/protocol/index.ts";

/**
 * A MESSAGE frame with sequence number `seq` from instance 0123456789abcdef (nick "a",
 * time 1): one fragment, no flags, empty text, unless `fields` says otherwise.
 */
export function messageFrame(seq: number, fields: Partial<MessageFrame> = {}): MessageFrame {
  return {
    type: "message",
    id: "0123456789abcdef",
    seq,
    nick: "a",
    time: 1,
    fragIndex: 0,
    fragCount: 1,
    action: false,
    repair: false,
    history: false,
    payload: new Uint8Array(),
    ...fields,
  };
}
