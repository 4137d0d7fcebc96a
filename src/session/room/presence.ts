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
import { MAX_DECLARED_INTERVAL_MS } from "./peer-table.ts";
import { roomIntervalMs } from "./room-interval.ts";

/** BYE frames sent when leaving (copies of one another). */
const BYE_COPIES = 3;
/** A newcomer's HELLO is answered with a heartbeat within this (random, ms). */
const HELLO_ANSWER_MS = 200;
/**
 * In a room of more than TIMEOUT_BATCH_FROM, members' timeouts are checked at most every
 * TIMEOUT_CHECK_MS (one is declared gone up to this late; its timeout is 6 s or more). Smaller
 * rooms check at the exact moment, as before.
 */
const TIMEOUT_CHECK_MS = 250;
const TIMEOUT_BATCH_FROM = 50;
/**
 * Heartbeats that answer a newcomer's HELLO, about, whatever the room's size: each member
 * answers with probability min(1, HELLO_ANSWERS / N̂). Rooms up to this size answer as
 * before (everyone, at once); in bigger ones the others are heard at their next heartbeat.
 */
export const HELLO_ANSWERS = 25;

/** The odds that we answer a newcomer's HELLO in a room of `roomSize` (N̂). */
export function helloAnswerChance(roomSize: number): number {
  return Math.min(1, HELLO_ANSWERS / Math.max(1, roomSize));
}

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
    // A newcomer: let it hear us soon (it learns our nick, age and tails). In a big room only
    // about HELLO_ANSWERS of us do: O(1) answers per join, not one from every member.
    const chance = helloAnswerChance(ctx.roomSize());
    if (chance >= 1 || ctx.random() < chance) {
      ctx.services.heartbeatSoon?.(ctx.random() * HELLO_ANSWER_MS);
    }
  }
  if (f.reportWanted) ctx.services.reportWanted?.(p);
  if (f.phase === "bye") ctx.leave(p, "bye");
}

export const presence: FeatureFactory = (ctx) => {
  const hb = new HeartbeatSchedule(ctx.now(), { ambientMs: ctx.heartbeatMs });
  /** The header seq of our next PRESENCE: receivers drop one not newer than the last. */
  let counter = 0;
  /**
   * When the members' timeouts are next checked: the earliest one may time out then (only ever
   * too early; recomputed at each check, lowered by each PRESENCE heard).
   */
  let timeoutAt: number | undefined;

  /**
   * Our ambient interval grows with the room (room-interval.ts), but only while every present
   * member declared its own interval: an older one times us out after 3 of ITS heartbeats.
   */
  const ambientNow = () =>
    ctx.peers.allDeclareInterval()
      ? roomIntervalMs(ctx.heartbeatMs, ctx.roomSize())
      : ctx.heartbeatMs;
  const rescale = () => {
    const before = hb.nextAt();
    hb.setAmbient(ambientNow());
    if (hb.nextAt() < before) ctx.rearm();
  };
  ctx.hooks.announced.push(rescale);
  ctx.hooks.left.push(rescale);

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
      // Members time us out after 3 of these (PROTOCOL.md §13.1); declared before it is used.
      intervalMs: Math.min(hb.ambientMs, MAX_DECLARED_INTERVAL_MS),
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
    hb.setAmbient(ambientNow());
    hb.onHeartbeatSent(ctx.now());
    send("heartbeat").catch((e) => {
      if (!ctx.closed) ctx.warn(`send failed: ${(e as Error).message}`);
    });
  };
  ctx.services.heartbeatSoon = (ms) => hb.soon(ctx.now() + ms);
  ctx.hooks.sent.push(() => hb.onMessageSent(ctx.now()));

  const noteTimeout = (p: Peer) => {
    const t = p.lastSeen + ctx.peers.timeoutOf(p) + 1;
    if (timeoutAt === undefined || t < timeoutAt) timeoutAt = t;
  };

  return {
    name: "presence",
    stats: () => ({ roomSize: ctx.roomSize(), heartbeatIntervalMs: hb.ambientMs }),
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
        ctx.peers.declareInterval(p, f.intervalMs);
        noteTimeout(p);
        presenceHeard(ctx, p, f);
      },
    },
    deadline() {
      const h = hb.nextAt();
      return timeoutAt !== undefined && timeoutAt < h ? timeoutAt : h;
    },
    tick(now) {
      // The member scans are O(members): only when a timeout may be due (not at every tick of
      // any feature), in a big room at most every TIMEOUT_CHECK_MS (not at each heartbeat heard).
      if (timeoutAt === undefined || now >= timeoutAt) {
        for (const p of [...ctx.peers.timedOut(now)]) ctx.leave(p, "timeout");
        ctx.peers.forgetDeparted(now);
        // No member first heard after this scan can time out sooner than our own timeout.
        const next = Math.min(
          ctx.peers.nextTimeout() ?? Number.POSITIVE_INFINITY,
          now + ctx.peers.timeoutMs,
        );
        const batch = ctx.roomSize() > TIMEOUT_BATCH_FROM ? TIMEOUT_CHECK_MS : 0;
        timeoutAt = Math.max(next, now + batch);
      }
      if (now >= hb.nextAt()) ctx.services.heartbeatNow?.();
    },
    async close() {
      // BYE is not repaired: sent BYE_COPIES times, so a lossy member still sees us leave (at
      // 20% loss one copy is lost 1 time in 5, three in 125); receivers take the first.
      for (let i = 0; i < BYE_COPIES; i++) await send("bye").catch(() => {});
    },
  };
};
