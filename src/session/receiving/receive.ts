/**
 * Receiving streams (PROTOCOL.md §5, §12): RECORD fragments into their sender's stream (a stream
 * we do not read is ignored), in-order delivery, NACK rounds for what is missing (a STREAM_NACK,
 * or a v1 NACK for a 0.2 member's stream), and the timers of every stream we receive.
 */
import type { Frame, RecordFrame, SeqRange } from "../../protocol/types.ts";
import { DeadlineHeap } from "../deadline-heap.ts";
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
  /**
   * Members with a timer pending in one of their streams, and when it is due: a tick visits
   * the members whose timer is due, not the whole room, nor every member with a timer (at the
   * 4,096 cap, a flood of made-up members each with a NACK timer made that scan most of a
   * member's CPU). Every frame of a member passes through deliver, which touches it here.
   */
  const watched = new Map<string, Peer>();
  const timers = new DeadlineHeap<string>();
  const touch = (p: Peer) => {
    const t = p.nextDeadline();
    if (t === undefined) {
      watched.delete(p.id);
      timers.delete(p.id);
      return;
    }
    watched.set(p.id, p);
    timers.set(p.id, t);
  };
  ctx.hooks.advanced.push((p) => touch(p));
  ctx.hooks.left.push((p) => touch(p));
  ctx.hooks.forgotten.push((id) => {
    watched.delete(id);
    timers.delete(id);
  });

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
    deadline: () => timers.peek(),
    tick(now) {
      // Those due now, taken first: polling one may make another (or itself) due again.
      const due: Peer[] = [];
      for (let id = timers.takeDue(now); id !== undefined; id = timers.takeDue(now)) {
        const p = watched.get(id);
        if (p) due.push(p);
      }
      for (const p of due) {
        const at = p.nextDeadline();
        if (at === undefined || at > now) {
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
