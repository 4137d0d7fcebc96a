/**
 * Receiver reports (PROTOCOL.md §8, §12.3, §13.2): we tell each sender how far we got in each of
 * its streams we read, so it can pace itself — every sender of an older revision; a sender of
 * this one only while it names us, or when it asks who has not reached its watermark and no
 * member at or below our position answered first. How far we got is what our output has consumed, not
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
import { suppressionBackoff } from "../backoff.ts";
import type { FeatureFactory } from "../feature.ts";
import type { Peer } from "../room/peer.ts";
import { SMALL_ROOM_MAX } from "../sending/flow-control.ts";
import type { InboundStream } from "./inbound-stream.ts";
import { MarkQueue } from "./mark-queue.ts";
import { REPORT_BACKOFF_MS, type ReportMode, ReportSchedule } from "./report-schedule.ts";

interface Entry {
  key: string;
  peer: Peer;
  stream: InboundStream;
  next: number;
  /** Its progress alone is no reason to report (a sender of this revision, §13). */
  quiet: boolean;
}

const key = (p: Peer, s: InboundStream) => `${p.id}/${s.stream}`;

/**
 * How we report a stream of `p` (report-schedule.ts): by its FEEDBACK, §8's rules without one,
 * or when it says ALL-REPORT and the room is small for us too (a sender says ALL-REPORT from
 * its HELLO, before it has heard the room: in a big room that must not make every member
 * report on everything it sends, PROTOCOL.md §13.2).
 */
function modeOf(p: Peer, s: InboundStream, self: string, roomSize: number): ReportMode {
  if (!p.feedback || (p.reportsAll && roomSize <= SMALL_ROOM_MAX)) return "every";
  return p.feedback.get(s.stream)?.named.includes(self) ? "named" : "asked";
}

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
      if (!peer.gone)
        schedule.progress(
          key(peer, stream),
          next,
          now,
          modeOf(peer, stream, ctx.id, ctx.roomSize()),
        );
    });
    sendIfDue();
  };

  ctx.hooks.advanced.push((peer, stream) => {
    const next = stream.next;
    if (next === undefined) return;
    if (stream.consumedNext === undefined && stream.base !== undefined) {
      stream.consumedNext = stream.base;
      // A stream of an older sender is reported at once, at its start (nothing consumed yet):
      // it must count us before our output has taken anything, or it would run ahead of us
      // unchecked (a member that never reported does not hold it back). A sender of this
      // revision asks when it needs to know (§13): no start report from every member.
      const mode = modeOf(peer, stream, ctx.id, ctx.roomSize());
      if (!peer.gone && mode !== "asked") {
        schedule.progress(key(peer, stream), stream.base, ctx.now(), mode);
      }
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
  /** Questions we will answer unless someone at or below us answers first: key -> its floor. */
  const pending = new Map<string, { floor: number; stream: InboundStream }>();
  ctx.hooks.forgotten.push((id) => {
    schedule.forget(id);
    for (const k of pending.keys()) if (k.startsWith(`${id}/`)) pending.delete(k);
  });
  ctx.services.reportWanted = (p) => {
    const now = ctx.now();
    let requested = false;
    for (const s of p.streams.values()) {
      const next = s.consumedNext;
      if (next === undefined) continue;
      const mode = modeOf(p, s, ctx.id, ctx.roomSize());
      if (mode !== "asked") {
        if (!requested) schedule.requested(now, p.id);
        requested = true;
        continue;
      }
      // A question (§13.2): only a member behind the watermark answers; one below the floor at
      // once (the sender does not know it is that far behind), the others after a back-off.
      const fb = p.feedback?.get(s.stream);
      if (!fb || seqDiff(next, fb.watermark) >= 0) continue;
      const k = key(p, s);
      if (seqDiff(next, fb.floor) < 0) schedule.question(k, now);
      else {
        if (schedule.isDue(k)) continue; // already waiting to answer this question
        const wait = suppressionBackoff(ctx.random, ctx.roomSize(), REPORT_BACKOFF_MS);
        schedule.question(k, now + wait);
        pending.set(k, { floor: fb.floor, stream: s });
      }
    }
    sendIfDue();
  };

  /** A report heard from another member: one at or below our position answers our question. */
  const heard = (entries: readonly { target: string; stream?: number; next: number }[]) => {
    if (pending.size === 0) return;
    for (const e of entries) {
      const k = `${e.target}/${e.stream ?? 0}`;
      const q = pending.get(k);
      const mine = q?.stream.consumedNext;
      if (!q || mine === undefined) continue;
      if (seqDiff(e.next, q.floor) >= 0 && seqDiff(e.next, mine) <= 0) {
        pending.delete(k);
        schedule.cancel(k);
        ctx.counters.reportsSuppressed++;
      }
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
    const roomSize = ctx.roomSize();
    for (const peer of ctx.peers.values()) {
      // (Members whose presence we have not heard yet too: at 40% loss their records can come
      // first, and their drain must count us. The peer table bounds how many there are.)
      if (peer.gone) continue;
      for (const stream of peer.streams.values()) {
        const next = stream.consumedNext;
        if (next === undefined) continue;
        const quiet = modeOf(peer, stream, ctx.id, roomSize) !== "every";
        all.push({ key: key(peer, stream), peer, stream, next, quiet });
      }
    }
    const v11 = schedule.entries(
      all.filter((e) => e.peer.wire !== "1.0"),
      MAX_REPORT_ENTRIES,
    );
    for (const frame of v11) for (const e of frame) pending.delete(e.key);
    const v1 = ctx.services.v1
      ? schedule.entries(
          all.filter((e) => e.peer.wire === "1.0"),
          MAX_REPORT_ENTRIES,
        )
      : [];
    schedule.sent([...v11.flat(), ...v1.flat()], now, all.length);
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
    frames: {
      stream_report: (f) => heard(f.entries),
    },
    deadline: () => schedule.deadline,
    tick(now) {
      const at = schedule.deadline;
      if (at !== undefined && now >= at) send(now);
    },
  };
};
