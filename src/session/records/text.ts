/**
 * TEXT records (kind 0x01, stream 0; PROTOCOL.md §12.4): chat messages. Delivered ones become
 * message events; ours are echoed once, with their seq.
 */
import { RecordKind as Kind, Stream } from "../../protocol/constants.ts";
import { decodeTextRecord, encodeTextRecord, type TextRecord } from "../../protocol/text-record.ts";
import { ownMessage } from "../events.ts";
import type { FeatureFactory, RecordKind } from "../feature.ts";

export const text: FeatureFactory = (ctx) => {
  const kind: RecordKind<TextRecord> = {
    code: Kind.text,
    name: "text",
    stream: Stream.conversation,
    encode: encodeTextRecord,
    decode: decodeTextRecord,
    deliver(v, from) {
      ctx.counters.received++;
      ctx.emit({
        type: "message",
        time: ctx.time(),
        from: from.peer.from,
        text: v.text,
        nick: v.nick,
        id: from.peer.id,
        seq: from.seq,
        action: v.action || undefined,
      });
    },
    sent(v, r) {
      ctx.counters.sent++;
      ctx.emit(
        ownMessage(
          { text: v.text, nick: v.nick, id: r.id, seq: r.seq, action: v.action },
          ctx.time(),
        ),
      );
    },
  };
  return { name: "text", kinds: [kind as RecordKind] };
};
