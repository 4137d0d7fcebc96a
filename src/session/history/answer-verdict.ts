import { MAX_FRAGMENT_PAYLOAD, RecordKind } from "../../protocol/constants.ts";
import { fragmentBody, fragmentText } from "../../protocol/fragment.ts";
import { seqAdd } from "../../protocol/seq.ts";
import { encodeTextRecord } from "../../protocol/text-record.ts";
import type { MessageFrame, RecordFrame } from "../../protocol/types.ts";
import type { HistoryRecord } from "../feature.ts";
import type { RoomLog } from "./room-log.ts";

/**
 * What a member makes of one history answer frame another member sent, against its own log:
 * - "agrees": a fragment of a record it holds, byte for byte (a faithful answer);
 * - "disputes": under an instance it holds records of, at a seq no older than the oldest of
 *   them, and not what it holds (an invented line, or a held one altered);
 * - "unknown": older than what it holds of that instance, or of an instance it holds nothing
 *   of (it left before we came): we cannot tell.
 * A faithful answer keeps a member quiet; one it disputes must not (PROTOCOL.md §4 HISTORY_REQ).
 */
export type AnswerVerdict = "agrees" | "disputes" | "unknown";

export function answerVerdict(f: MessageFrame | RecordFrame, log: RoomLog): AnswerVerdict {
  if (f.type === "record" && (f.kind !== RecordKind.text || f.stream !== 0)) return "unknown";
  const first = seqAdd(f.seq, -f.fragIndex);
  const held = log.find(f.id, first);
  if (!held) return log.before(f.id, first) ? "unknown" : "disputes";
  return sameFragment(f, held) ? "agrees" : "disputes";
}

/** Whether `f` is fragment `f.fragIndex` of `r` as its answer would carry it. */
function sameFragment(f: MessageFrame | RecordFrame, r: HistoryRecord): boolean {
  let parts: Uint8Array[];
  if (f.type === "message") {
    const v = r.value;
    if (f.nick !== v.nick || f.time !== v.time || f.action !== v.action) return false;
    parts = fragmentText(v.text, MAX_FRAGMENT_PAYLOAD);
  } else {
    parts = fragmentBody(encodeTextRecord(r.value));
  }
  const part = parts[f.fragIndex];
  return parts.length === f.fragCount && part !== undefined && equalBytes(part, f.payload);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
