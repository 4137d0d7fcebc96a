/**
 * Receiver reports (PROTOCOL.md §8, §12.3): we tell each sender how far we got in each of its
 * streams we read, so it can pace itself. How far we got is what our output has consumed, not
 * what arrived: a reader that stops reading (a frozen `less`, a slow script) holds our reports
 * back, and the sender slows down instead of this member buffering without bound.
 *
 * A report due at once (a stream's start, REPORT_EVERY seqs of progress) goes out from the code
 * that made it due, not from a timer: a member flooded with datagrams may not run its timers for
 * seconds (seen: 34,000 datagrams read before a timer due at once ran), and its first report is
 * what makes the sender count it at all.
 */
import { MAX_REPORT_ENTRIES } from "../../protocol/constants.ts";
import { seqDiff } from "../../protocol/seq.ts";
import type { ReportEntry, StreamReportEntry } from "../../protocol/types.ts";
import type { FeatureFactory } from "../feature.ts";
import type { Peer } from "../room/peer.ts";
import type { InboundStream } from "./inbound-stream.ts";
import { MarkQueue } from "./mark-queue.ts";
import { ReportSchedule } from "./report-schedule.ts";

interface Entry {
  key: string;
  peer: Peer;
  stream: InboundStream;
  next: number;
}

const key = (p: Peer, s: InboundStream) => `${p.id}/${s.stream}`;

export const reports: FeatureFactory = (ctx) => {
  const schedule = new ReportSchedule();
  /** Sends the report now if it is due now (see above). */
  const sendIfDue = () => {
    const now = ctx.now();
    const at = schedule.deadline;
    if (at !== undefined && at <= now && !ctx.closed && ctx.started) send(now);
  };
  /** Stream `next`s as of event positions, not yet consumed by the output. */
  const marks = new MarkQueue<{ peer: Peer; stream: InboundStream }>();
  /** The mark target of each stream (one object per stream, not per mark). */
  const targets = new WeakMap<InboundStream, { peer: Peer; stream: InboundStream }>();

  /** Moves every stream whose mark the output has consumed. */
  const consume = () => {
    const now = ctx.now();
    marks.take(ctx.sink.consumed, ({ peer, stream }, next) => {
      if (stream.consumedNext === next) return;
      // (never backwards: a mark older than the start report is no news)
      if (stream.consumedNext !== undefined && seqDiff(next, stream.consumedNext) < 0) return;
      stream.consumedNext = next;
      if (!peer.gone) schedule.progress(key(peer, stream), next, now);
    });
    sendIfDue();
  };

  ctx.hooks.advanced.push((peer, stream) => {
    const next = stream.next;
    if (next === undefined) return;
    if (stream.consumedNext === undefined && stream.base !== undefined) {
      // A stream that just started is reported at once, at its start (nothing consumed yet):
      // the sender must count us before our output has taken anything, or it would run ahead
      // of us unchecked (a member that never reported does not hold it back).
      stream.consumedNext = stream.base;
      if (!peer.gone) schedule.progress(key(peer, stream), stream.base, ctx.now());
    }
    let target = targets.get(stream);
    if (!target) {
      target = { peer, stream };
      targets.set(stream, target);
    }
    marks.push(ctx.sink.emitted, target, next);
    consume();
  });
  ctx.sink.onConsumed(() => {
    consume();
    ctx.rearm();
  });
  ctx.hooks.forgotten.push((id) => schedule.forget(id));
  ctx.services.reportWanted = (p) => {
    for (const s of p.streams.values()) {
      if (s.consumedNext !== undefined) return schedule.requested(ctx.now(), p.id);
    }
  };

  /**
   * The REPORTs (v1.1) and v1 REPORTs (0.2 members' streams) saying every stream that changed
   * or was asked for, MAX_REPORT_ENTRIES a frame: as many frames as the senders we receive from
   * need (at most the peer table's MAX_PEERS x our streams), so reports reach every sender, not
   * only the first 32 (ReportSchedule.entries).
   */
  const send = (now: number) => {
    const all: Entry[] = [];
    for (const peer of ctx.peers.values()) {
      // (Members whose presence we have not heard yet too: at 40% loss their records can come
      // first, and their drain must count us. The peer table bounds how many there are.)
      if (peer.gone) continue;
      for (const stream of peer.streams.values()) {
        const next = stream.consumedNext;
        if (next !== undefined) all.push({ key: key(peer, stream), peer, stream, next });
      }
    }
    const v11 = schedule.entries(
      all.filter((e) => e.peer.wire !== "1.0"),
      MAX_REPORT_ENTRIES,
    );
    const v1 = ctx.services.v1
      ? schedule.entries(
          all.filter((e) => e.peer.wire === "1.0"),
          MAX_REPORT_ENTRIES,
        )
      : [];
    schedule.sent([...v11.flat(), ...v1.flat()], now);
    for (const frame of v11) {
      ctx.counters.reportsSent++;
      const entries: StreamReportEntry[] = frame.map((e) => ({
        target: e.peer.id,
        stream: e.stream.stream,
        next: e.next,
      }));
      ctx.fire({ type: "stream_report", id: ctx.id, seq: 0, entries });
    }
    const v1view = ctx.services.v1;
    if (v1view) {
      for (const frame of v1) {
        ctx.counters.reportsSent++;
        const entries: ReportEntry[] = frame.map((e) => ({ target: e.peer.id, next: e.next }));
        ctx.fire(v1view.report(entries));
      }
    }
  };

  return {
    name: "reports",
    deadline: () => schedule.deadline,
    tick(now) {
      const at = schedule.deadline;
      if (at !== undefined && now >= at) send(now);
    },
  };
};
