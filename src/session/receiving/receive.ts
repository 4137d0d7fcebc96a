/**
 * Receiving streams (PROTOCOL.md §5, §12): RECORD fragments into their sender's stream (a stream
 * we do not read is ignored), in-order delivery, NACK rounds for what is missing (a STREAM_NACK,
 * or a v1 NACK for a 0.2 member's stream), and the timers of every stream we receive.
 */
import type { Frame, RecordFrame, SeqRange } from "../../protocol/types.ts";
import type { FeatureFactory } from "../feature.ts";
import type { Peer } from "../room/peer.ts";
import type { Fragment, InboundStream } from "./inbound-stream.ts";

/** A RECORD as a fragment of its stream. */
export function recordFragment(f: RecordFrame): Fragment {
  return {
    seq: f.seq,
    kind: f.kind,
    fragIndex: f.fragIndex,
    fragCount: f.fragCount,
    repair: f.repair,
    payload: f.payload,
  };
}

export const inbound: FeatureFactory = (ctx) => {
  /** The earliest deadline of any stream (updated as streams change; recomputed on tick). */
  let at: number | undefined;
  const touch = (p: Peer) => {
    const t = p.nextDeadline();
    if (t !== undefined && (at === undefined || t < at)) at = t;
  };
  ctx.hooks.advanced.push((p) => touch(p));

  const nack = (p: Peer, s: InboundStream, ranges: SeqRange[]): Frame | undefined => {
    if (p.wire === "1.0") return ctx.services.v1?.nack(p, ranges);
    return { type: "stream_nack", id: ctx.id, seq: 0, target: p.id, stream: s.stream, ranges };
  };

  return {
    name: "receive",
    frames: {
      record(f, p) {
        p.wire = "1.1";
        const s = p.stream(f.stream);
        if (!s) return; // a stream we do not read
        if (f.repair) ctx.counters.repairsReceived++;
        ctx.deliver(p, s, s.onFragment(recordFragment(f), f.runs));
      },
    },
    deadline: () => at,
    tick() {
      at = undefined;
      for (const p of ctx.peers.values()) {
        for (const w of p.poll()) {
          ctx.deliver(p, w.stream, w.items);
          for (const ranges of w.nacks) {
            const frame = nack(p, w.stream, ranges);
            if (!frame) continue;
            ctx.counters.nacksSent++;
            ctx.fire(frame);
          }
        }
        touch(p);
      }
    },
    stats() {
      const w = ctx.peers.windowTotals();
      return { duplicates: w.duplicates, nacksSuppressed: w.suppressed, skipped: w.skipped };
    },
  };
};
