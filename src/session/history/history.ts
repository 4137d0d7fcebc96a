/**
 * History (PROTOCOL.md §4 HISTORY_REQ, §11, §12.7): a joiner asks for the room's last messages;
 * one present member answers, in a turn order every member computes alike, from its log of the
 * room's recent text records; the joiner shows the answers once. Answers re-send other members'
 * records under their ids, so the origin rule cannot vouch for them: only a present member's
 * answer is shown, a line is shown as its sender's own only when that sender sent it (else as
 * relayed, "via" the member that did), only such first-hand lines enter our log (we never pass
 * on a relayed line as if we had heard it from its sender), a member whose lines another relays
 * answers with its own, and only an answer that agrees with its log keeps a member quiet.
 */
import { RecordKind as Kind, Stream } from "../../protocol/constants.ts";
import { fragmentBody } from "../../protocol/fragment.ts";
import { seqAdd } from "../../protocol/seq.ts";
import { encodeTextRecord, type TextRecord } from "../../protocol/text-record.ts";
import type { RecordFrame } from "../../protocol/types.ts";
import type { FeatureFactory, HistoryRecord } from "../feature.ts";
import { answerVerdict } from "./answer-verdict.ts";
import { HistoryCollector } from "./history-collector.ts";
import { HISTORY_ANSWER_MAX_BYTES, HistoryResponder } from "./history-responder.ts";
import { RoomLog } from "./room-log.ts";

/** How long a joiner collects history answers (ms), unless the options say. */
const HISTORY_WAIT_MS = 700;

/** The RECORD frames of a text record as a history answer: its id and seqs, the HISTORY flag. */
export function historyFrames(r: HistoryRecord): RecordFrame[] {
  const parts = fragmentBody(encodeTextRecord(r.value));
  return parts.map((payload, i) => ({
    type: "record",
    id: r.id,
    seq: seqAdd(r.seq, i),
    stream: Stream.conversation,
    kind: Kind.text,
    fragIndex: i,
    fragCount: parts.length,
    repair: false,
    history: true,
    runs: [],
    payload,
  }));
}

export const history: FeatureFactory = (ctx) => {
  const log = new RoomLog();
  const responder = new HistoryResponder(ctx.id);
  let collector: HistoryCollector | undefined;

  ctx.hooks.sent.push((o, r) => {
    if (o.kind.code === Kind.text && r.seq !== undefined) {
      log.add({ id: r.id, seq: r.seq, value: o.value as TextRecord });
    }
  });
  ctx.hooks.delivered.push((kind, value, from) => {
    if (kind.code === Kind.text) {
      log.add({ id: from.peer.id, seq: from.seq, value: value as TextRecord });
    }
  });

  return {
    name: "history",
    async start() {
      const n = ctx.opts.history ?? 0;
      if (n <= 0) return;
      const requestId = Math.floor(ctx.random() * 2 ** 32) >>> 0;
      collector = new HistoryCollector(n, ctx.now() + (ctx.opts.historyWaitMs ?? HISTORY_WAIT_MS));
      await ctx.send({
        type: "history_req",
        id: ctx.id,
        seq: ctx.services.v1?.tail() ?? 0xffffffff,
        count: n,
        requestId,
      });
    },
    frames: {
      history_req(f, p) {
        // Not only from announced members: a joiner's HELLO may arrive after its request.
        // Floods are bounded by the responder (one answer per HISTORY_ANSWER_GAP_MS).
        const members = [ctx.id, ...ctx.peers.present().map((m) => m.id)];
        responder.request(f.count, f.requestId, log.size, members, ctx.now(), p.id);
      },
    },
    history(frame, from) {
      const ours = frame.id === ctx.id;
      // Our id from elsewhere: a member re-sending our old messages as a history answer.
      if (!ours) collector?.add(frame, from);
      if (responder.judging && ctx.peers.memberAt(from) !== undefined) {
        responder.heardAnswer(answerVerdict(frame, log), ours);
      }
    },
    deadline() {
      const a = collector?.deadline;
      const b = responder.deadline;
      if (a === undefined) return b;
      return b === undefined || a < b ? a : b;
    },
    tick(now) {
      const answer = responder.due(now);
      if (answer !== undefined) {
        // A heartbeat first: the joiner knows nobody yet and takes history only from a member.
        ctx.services.heartbeatNow?.();
        const own = answer.ownOnly ? ctx.id : undefined;
        const records = log.recent(answer.count, HISTORY_ANSWER_MAX_BYTES, own);
        for (const r of records) for (const f of historyFrames(r)) ctx.fire(f);
        if (ctx.services.v1?.active()) ctx.services.v1.historyCopies(records);
      }
      if (collector?.due(now)) {
        const c = collector;
        collector = undefined;
        for (const { record: r, via } of c.result((from) => ctx.peers.memberAt(from))) {
          // A relayed line is shown as relayed, and never served on as its sender's own.
          if (!via) log.add(r);
          ctx.emit({
            type: "message",
            time: new Date(r.value.time),
            from: via ? via.from : (ctx.peers.get(r.id)?.from ?? ""),
            text: r.value.text,
            nick: r.value.nick,
            id: r.id,
            seq: r.seq,
            action: r.value.action || undefined,
            history: true,
            via: via ? { nick: via.nick, id: via.id } : undefined,
          });
        }
      }
    },
    stats: () => ({ historyRefused: responder.refused }),
  };
};
