/**
 * The v1 view (PROTOCOL.md §12.6): mcchat 0.2 members read only v1 frames and plain text. While
 * one is in the room, we also speak v1 for it: our presence as v1 HELLO/HEARTBEAT/BYE, our text
 * as v1 MESSAGE frames in a seq space of their own (a stream with its own window and repair
 * buffer), repairs, GONE and history answers likewise — every such frame flagged COMPAT, which a
 * 0.2 member ignores and a v1.1 member takes as "not for me". Nothing else reaches a 0.2 member
 * as something it could take for a loss: it never sees a seq of a record it cannot read.
 *
 * And we read 0.2 members: their v1 presence, MESSAGE (stream 0, text), GONE, NACK and REPORT.
 *
 * In an encrypted room a 0.2 member's frames are held until its run names us (PROTOCOL.md
 * §10.7), which it does only once it hears our v1 presence: when the sealed layer says "a run
 * not proven yet speaks v1" (RoomSecurity.onLegacyRun), we send our v1 presence, asking for
 * reports, for V1_PROBE_HEARTBEATS heartbeat intervals (renewed by each hint). Only presence:
 * no text, no stream, no member shown, until a 0.2 member is really heard.
 */
import { RecordKind as Kind, MAX_FRAGMENT_PAYLOAD } from "../../protocol/constants.ts";
import { fragmentText } from "../../protocol/fragment.ts";
import { encodingLength } from "../../protocol/frame.ts";
import { seqAdd } from "../../protocol/seq.ts";
import type { TextRecord } from "../../protocol/text-record.ts";
import type { MessageFrame } from "../../protocol/types.ts";
import { utf8Length } from "../../protocol/utf8.ts";
import type { FeatureFactory, HistoryRecord } from "../feature.ts";
import type { Fragment } from "../receiving/inbound-stream.ts";
import type { Peer } from "../room/peer.ts";
import { presenceHeard } from "../room/presence.ts";
import { OutboundStream } from "../sending/outbound-stream.ts";

/** The v1 MESSAGE frames of one text record (seqs given later), flagged COMPAT. */
function messageFrames(id: string, v: TextRecord, history: boolean): MessageFrame[] {
  const parts = fragmentText(v.text, MAX_FRAGMENT_PAYLOAD);
  return parts.map((payload, i) => ({
    type: "message",
    id,
    seq: 0,
    nick: v.nick,
    time: v.time,
    fragIndex: i,
    fragCount: parts.length,
    action: v.action,
    repair: false,
    history,
    compat: true,
    payload,
  }));
}

/** A 0.2 member's MESSAGE as a fragment of its stream 0 (a TEXT record, its body the text). */
function messageFragment(f: MessageFrame): Fragment {
  return {
    seq: f.seq,
    kind: Kind.text,
    fragIndex: f.fragIndex,
    fragCount: f.fragCount,
    repair: f.repair,
    payload: f.payload,
    v1: { nick: f.nick, time: f.time, action: f.action },
  };
}

/** After a hint that a 0.2 member may be there, our v1 presence goes out for this many heartbeats. */
export const V1_PROBE_HEARTBEATS = 3;

export const compat: FeatureFactory = (ctx) => {
  /** Our v1 view's stream (made when the first 0.2 member is heard). */
  let out: OutboundStream<MessageFrame> | undefined;
  /** 0.2 members that announced themselves and are not forgotten: while any, the view is on. */
  const members = new Set<string>();
  const active = () => members.size > 0;
  const tail = () => out?.tail ?? 0xffffffff;
  /** Until when our v1 presence goes out for a 0.2 member not proven live yet (monotonic ms). */
  let probeUntil = Number.NEGATIVE_INFINITY;
  const probing = () => !active() && ctx.now() < probeUntil;
  /** Our v1 presence (the v1 view's tail; REPORT-WANTED when waiting, draining or probing). */
  const v1Presence = (phase: "hello" | "heartbeat" | "bye") => {
    const wanted = ctx.draining || out?.flow.asking === true || probing();
    ctx.fire({
      type: phase,
      id: ctx.id,
      seq: tail(),
      nick: ctx.nick,
      age: Math.max(0, Math.floor(ctx.now() - ctx.startedAt)),
      reportWanted: phase !== "bye" && wanted ? true : undefined,
      compat: true,
    });
  };
  ctx.transport.security?.onLegacyRun?.(() => {
    if (ctx.closed || active()) return;
    const first = !probing();
    probeUntil = ctx.now() + V1_PROBE_HEARTBEATS * ctx.heartbeatMs;
    if (first && ctx.started) v1Presence("hello");
  });

  const view = () => {
    if (!out) {
      out = new OutboundStream<MessageFrame>(ctx.streamOptions);
      ctx.outboundStreams.set("v1", out);
    }
    return out;
  };

  /** A frame of a 0.2 member: it speaks v1 only. */
  const v1Member = (p: Peer) => {
    p.wire = "1.0";
    if (p.present && !members.has(p.id)) {
      members.add(p.id);
      view();
    }
  };
  const stream0 = (p: Peer) => p.stream(0);
  /** A v1 header seq is its sender's tail: a 0.2 member's NACK, REPORT and GONE carry theirs. */
  const tailOf = (p: Peer, seq: number) => {
    if (p.wire !== "1.0") return;
    const s = stream0(p);
    if (s) ctx.deliver(p, s, s.onTail(seq));
  };

  ctx.hooks.forgotten.push((id) => members.delete(id));
  ctx.hooks.presenceSent.push((phase) => {
    if (active()) view();
    else if (!probing()) return;
    v1Presence(phase);
  });
  ctx.hooks.beforeSend.push((o) => {
    if (o.kind.code !== Kind.text || !active()) return;
    const bytes = utf8Length((o.value as TextRecord).text);
    const fragments = Math.max(1, Math.ceil(bytes / MAX_FRAGMENT_PAYLOAD));
    return ctx.waitForRoom(view(), fragments, o.bytes);
  });
  ctx.hooks.sent.push((o) => {
    if (o.kind.code !== Kind.text || !active()) return;
    const v = view();
    const frames = messageFrames(ctx.id, o.value as TextRecord, false);
    const { first } = v.allocate(frames.length, Kind.text);
    frames.forEach((f, i) => {
      f.seq = seqAdd(first, i);
      v.sent(f, encodingLength(f));
    });
    for (const f of frames) ctx.fire(f);
  });

  ctx.services.v1 = {
    nack: (target, ranges) => ({
      type: "nack",
      id: ctx.id,
      seq: tail(),
      target: target.id,
      ranges,
    }),
    report: (entries) => ({ type: "report", id: ctx.id, seq: tail(), entries }),
    active,
    tail,
    historyCopies(records: HistoryRecord[]) {
      for (const r of records) {
        messageFrames(r.id, r.value, true).forEach((f, i) => {
          f.seq = seqAdd(r.seq, i);
          ctx.fire(f);
        });
      }
    },
  };

  const presence =
    (phase: "hello" | "heartbeat" | "bye") =>
    (f: { seq: number; nick: string; age: number; reportWanted?: boolean }, p: Peer) => {
      v1Member(p);
      presenceHeard(ctx, p, {
        phase,
        nick: f.nick,
        age: f.age,
        streams: [{ stream: 0, tail: f.seq, runs: [] }],
        reportWanted: f.reportWanted,
      });
      v1Member(p); // announced now
    };

  return {
    name: "compat",
    frames: {
      hello: presence("hello"),
      heartbeat: presence("heartbeat"),
      bye: presence("bye"),
      message(f, p) {
        v1Member(p);
        if (!p.gone) ctx.peers.announce(p, f.nick);
        v1Member(p);
        if (f.repair) ctx.counters.repairsReceived++;
        const s = stream0(p);
        if (s) ctx.deliver(p, s, s.onFragment(messageFragment(f)));
      },
      gone(f, p) {
        v1Member(p);
        const s = stream0(p);
        if (!s) return;
        ctx.deliver(p, s, [...s.onTail(f.seq), ...s.onGone(f.ranges)]);
      },
      nack(f, p) {
        ctx.counters.nacksHeard++;
        if (f.target === ctx.id) {
          if (out && p.present) out.onNack(f.ranges, p.id, p.firstSeen);
        } else {
          const target = ctx.peers.get(f.target);
          if (target?.wire === "1.0") target.streams.get(0)?.onNackHeard(f.ranges);
        }
        tailOf(p, f.seq);
      },
      report(f, p) {
        ctx.counters.reportsHeard++;
        for (const e of f.entries) {
          if (e.target === ctx.id && out) ctx.services.reported?.(out, p, e.next);
        }
        tailOf(p, f.seq);
      },
    },
    deadline: () => out?.nextDeadline(),
    tick(now) {
      if (!out) return;
      out.settle(now);
      const { repairs, gone } = out.poll();
      for (const f of repairs) {
        ctx.counters.repairsSent++;
        ctx.fire(f);
      }
      if (gone.length > 0) {
        ctx.fire({ type: "gone", id: ctx.id, seq: out.tail, ranges: gone, compat: true });
      }
    },
  };
};
