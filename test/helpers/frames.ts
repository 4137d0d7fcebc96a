/** Frames for the unit tests of src/session and for the lab's forging helpers. */
import { RecordKind, Stream } from "../../src/protocol/constants.ts";
import type { MessageFrame, PresenceFrame, RecordFrame } from "../../src/protocol/index.ts";
import { encodeTextRecord } from "../../src/protocol/text-record.ts";

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

/**
 * A history answer: a one-fragment TEXT record of instance `id` at `seq` in the conversation
 * stream, flagged HISTORY, saying `text` as `nick` (at `time`).
 */
export function historyTextRecord(
  id: string,
  seq: number,
  nick: string,
  text: string,
  time = Date.now(),
): RecordFrame {
  return {
    type: "record",
    id,
    seq,
    stream: Stream.conversation,
    kind: RecordKind.text,
    fragIndex: 0,
    fragCount: 1,
    repair: false,
    history: true,
    runs: [],
    payload: encodeTextRecord({ action: false, nick, time, text }),
  };
}

/**
 * The v1.1 PRESENCE of "mallory", a history forger (issue 15): a member of 60 s that claims to
 * hold all of stream 0 and reads TEXT records.
 */
export function forgerPresence(
  id: string,
  seq: number,
  phase: PresenceFrame["phase"],
): PresenceFrame {
  return {
    type: "presence",
    id,
    seq,
    phase,
    nick: "mallory",
    age: 60_000,
    streams: [{ stream: 0, tail: 0xffffffff, runs: [] }],
    kinds: [RecordKind.text],
  };
}
