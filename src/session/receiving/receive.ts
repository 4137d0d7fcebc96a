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
  /**
   * Members with a timer pending in one of their streams: a tick visits these, not the whole
   * room (in a room of 1,000 a poll of everyone at every tick of any feature was a third of a
   * member's CPU). Every frame of a member passes through deliver, which touches it here.
   */
  const watched = new Map<string, Peer>();
  const touch = (p: Peer) => {
    const t = p.nextDeadline();
    if (t === undefined) {
      watched.delete(p.id);
      return;
    }
    watched.set(p.id, p);
    if (at === undefined || t < at) at = t;
  };
  ctx.hooks.advanced.push((p) => touch(p));
  ctx.hooks.left.push((p) => touch(p));
  ctx.hooks.forgotten.push((id) => watched.delete(id));

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
    tick(now) {
      at = undefined;
      for (const p of [...watched.values()]) {
        const due = p.nextDeadline();
        if (due === undefined || due > now) {
          touch(p);
          continue;
        }
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
