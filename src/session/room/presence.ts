/**
 * Presence (PROTOCOL.md §4, §12.2): our PRESENCE frames — HELLO at start, HEARTBEATs on the
 * schedule of heartbeat-schedule.ts, BYE when leaving — carrying our nick, age, the tails and
 * kind runs of our streams and the record kinds we read; and the members we hear: join, nick
 * change, leave by BYE or timeout, forgetting departed ones.
 */
import { Stream } from "../../protocol/constants.ts";
import { seqDiff } from "../../protocol/seq.ts";
import type { PresenceFrame, StreamFeedback, StreamState } from "../../protocol/types.ts";
import type { FeatureFactory, SessionContext } from "../feature.ts";
import { SMALL_ROOM_MAX } from "../sending/flow-control.ts";
import { HeartbeatSchedule } from "../sending/heartbeat-schedule.ts";
import type { OutboundStream } from "../sending/outbound-stream.ts";
import type { StreamFrame } from "../sending/repair-buffer.ts";
import type { Peer } from "./peer.ts";

/** BYE frames sent when leaving (copies of one another). */
const BYE_COPIES = 3;
/** A newcomer's HELLO is answered with a heartbeat within this (random, ms). */
const HELLO_ANSWER_MS = 200;

/** A presence frame heard, in either wire revision. */
export interface PresenceHeard {
  phase: "hello" | "heartbeat" | "bye";
  nick: string;
  age: number;
  streams: readonly StreamState[];
  reportWanted?: boolean;
}

/** What presence tells the others: a member's presence frame was heard (v1.1 or v1). */
export function presenceHeard(ctx: SessionContext, p: Peer, f: PresenceHeard): void {
  if (p.gone && p.leftBy === "timeout" && f.phase !== "bye") p.gone = false; // back again
  if (!p.gone) {
    const was = p.present;
    ctx.peers.announce(p, f.nick, f.phase === "hello");
    if (!was) for (const h of ctx.hooks.announced) h(p);
  }
  for (const w of p.onPresence(f.age, f.streams)) ctx.deliver(p, w.stream, w.items);
  if (f.phase === "hello" && ctx.started && !p.gone) {
    // A newcomer: let it hear us soon (it learns our nick, age and tails).
    ctx.services.heartbeatSoon?.(ctx.random() * HELLO_ANSWER_MS);
  }
  if (f.reportWanted) ctx.services.reportWanted?.(p);
  if (f.phase === "bye") ctx.leave(p, "bye");
}

export const presence: FeatureFactory = (ctx) => {
  const hb = new HeartbeatSchedule(ctx.now(), { ambientMs: ctx.heartbeatMs });
  /** The header seq of our next PRESENCE: receivers drop one not newer than the last. */
  let counter = 0;
  /** The earliest a member may time out (recomputed on every tick; only ever too early). */
  let timeoutAt: number | undefined;

  /** Members are asked for reports while a question is open on one of our streams, or we drain. */
  const wantReports = () => {
    if (ctx.draining) return true;
    for (const s of ctx.outboundStreams.values()) if (s.flow.asking) return true;
    return false;
  };

  const send = (phase: PresenceFrame["phase"]): Promise<void> => {
    // Stream 0 (the conversation) is always listed, used or not: members start receiving it
    // from our HELLO and report at once, so a first burst of ours is paced like the rest.
    const streams: StreamState[] = [];
    // Whom we ask for reports, per stream (PROTOCOL.md §13): its presence tells the members
    // that we pace ourselves by a few reports, not by everyone's.
    const feedback: StreamFeedback[] = [];
    const s0 = ctx.outbound(Stream.conversation);
    const listed: [number, OutboundStream<StreamFrame>][] = [[Stream.conversation, s0]];
    for (const [n, s] of ctx.outboundStreams) {
      if (typeof n === "number" && n !== Stream.conversation && !s.unused) listed.push([n, s]);
    }
    for (const [n, s] of listed) {
      streams.push({ stream: n, tail: s.tail, runs: s.kindRuns() });
      const flow = s.flow;
      feedback.push({
        stream: n,
        floor: flow.floor(),
        watermark: flow.watermark(),
        named: [...flow.named],
      });
    }
    const frame: PresenceFrame = {
      type: "presence",
      id: ctx.id,
      seq: counter,
      phase,
      nick: ctx.nick,
      age: Math.max(0, Math.floor(ctx.now() - ctx.startedAt)),
      streams,
      kinds: [...ctx.readKinds],
      feedback,
    };
    if (phase !== "bye" && wantReports()) frame.reportWanted = true;
    // A small room keeps §8's rules: every member reports on its own (§13.1, ALL-REPORT).
    if (ctx.roomSize() <= SMALL_ROOM_MAX) frame.allReport = true;
    counter = (counter + 1) >>> 0;
    const sent = ctx.send(frame);
    for (const h of ctx.hooks.presenceSent) h(phase);
    return sent;
  };

  ctx.services.heartbeatNow = () => {
    hb.onHeartbeatSent(ctx.now());
    send("heartbeat").catch((e) => {
      if (!ctx.closed) ctx.warn(`send failed: ${(e as Error).message}`);
    });
  };
  ctx.services.heartbeatSoon = (ms) => hb.soon(ctx.now() + ms);
  ctx.hooks.sent.push(() => hb.onMessageSent(ctx.now()));

  const noteTimeout = (p: Peer) => {
    const t = p.lastSeen + ctx.peers.timeoutMs + 1;
    if (timeoutAt === undefined || t < timeoutAt) timeoutAt = t;
  };

  return {
    name: "presence",
    async start() {
      await send("hello");
      hb.start(ctx.now());
    },
    frames: {
      presence(f, p) {
        // A reordered older PRESENCE (or a copy) must not undo a newer one (a nick change).
        if (p.presenceSeq !== undefined && seqDiff(f.seq, p.presenceSeq) <= 0) return;
        p.presenceSeq = f.seq;
        p.wire = "1.1";
        if (f.kinds) p.kinds = new Set(f.kinds);
        p.feedback = f.feedback ? new Map(f.feedback.map((b) => [b.stream, b])) : undefined;
        p.reportsAll = f.allReport === true;
        noteTimeout(p);
        presenceHeard(ctx, p, f);
      },
    },
    deadline() {
      const h = hb.nextAt();
      return timeoutAt !== undefined && timeoutAt < h ? timeoutAt : h;
    },
    tick(now) {
      for (const p of [...ctx.peers.timedOut(now)]) ctx.leave(p, "timeout");
      ctx.peers.forgetDeparted(now);
      timeoutAt = ctx.peers.nextTimeout();
      if (now >= hb.nextAt()) ctx.services.heartbeatNow?.();
    },
    async close() {
      // BYE is not repaired: sent BYE_COPIES times, so a lossy member still sees us leave (at
      // 20% loss one copy is lost 1 time in 5, three in 125); receivers take the first.
      for (let i = 0; i < BYE_COPIES; i++) await send("bye").catch(() => {});
    },
  };
};
