/**
 * Repair (PROTOCOL.md §8, §12.3): NACKs for our streams are answered from their repair buffers
 * (rate-limited, merged, GONE for what left the buffer); NACKs other members send for a stream
 * we miss too put our own NACK off (SRM suppression); a sender's GONE ends our wait for those
 * seqs. The v1 view's NACKs and GONEs are the compat feature's.
 */
import type { FeatureFactory } from "../feature.ts";

export const repair: FeatureFactory = (ctx) => {
  return {
    name: "repair",
    frames: {
      stream_nack(f, p) {
        ctx.counters.nacksHeard++;
        if (f.target === ctx.id) {
          // Only a member that announced itself gets repairs (made-up ids make no work).
          const out = ctx.outboundStreams.get(f.stream);
          if (out && p.present) out.onNack(f.ranges, p.id, p.firstSeen);
        } else {
          ctx.peers.get(f.target)?.streams.get(f.stream)?.onNackHeard(f.ranges);
        }
      },
      stream_gone(f, p) {
        const s = p.streams.get(f.stream);
        if (s) ctx.deliver(p, s, s.onGone(f.ranges));
      },
    },
    deadline() {
      let at: number | undefined;
      for (const [n, out] of ctx.outboundStreams) {
        if (typeof n !== "number") continue;
        const t = out.nextDeadline();
        if (t !== undefined && (at === undefined || t < at)) at = t;
      }
      return at;
    },
    tick(now) {
      for (const [stream, out] of ctx.outboundStreams) {
        if (typeof stream !== "number") continue;
        out.settle(now);
        const { repairs, gone } = out.poll();
        for (const f of repairs) {
          ctx.counters.repairsSent++;
          ctx.fire(f);
        }
        if (gone.length > 0)
          ctx.fire({ type: "stream_gone", id: ctx.id, seq: 0, stream, ranges: gone });
      }
    },
    stats() {
      let refused = 0;
      for (const out of ctx.outboundStreams.values()) refused += out.repairer.stats.refused;
      return { repairsRefused: refused };
    },
  };
};
