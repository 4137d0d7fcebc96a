/**
 * Flow control as a sender (PROTOCOL.md §8, §12.3, §13): members' REPORTs move each stream's
 * window; a member that stopped reporting while behind stops holding a stream back (the stall
 * rule) and is said to; one that catches up holds it back again. Windows are per stream: bulk
 * data never holds up the conversation. Only a few members report on their own; the rest are
 * asked "who has not reached seq W?" when half a window is used, when a window is full and
 * while draining (flow-control.ts), and the questions are completed here.
 */
import type { FeatureFactory } from "../feature.ts";
import type { Peer } from "../room/peer.ts";
import { SMALL_ROOM_MAX } from "./flow-control.ts";
import type { OutboundStream } from "./outbound-stream.ts";
import type { StreamFrame } from "./repair-buffer.ts";

export const flow: FeatureFactory = (ctx) => {
  /** The earliest stall, recomputed when something that can move it earlier happened. */
  let stallAt: number | undefined;
  let dirty = true;

  const name = (id: string) => ctx.peers.get(id)?.nick || id;
  /**
   * The room is small: §8's rules, every member that reported counts. (Right after our start,
   * before the members' answers to our HELLO, every room looks small; in a big room they do not
   * take our ALL-REPORT for one, and once we hear 17 of them — within 200 ms — our window waits
   * for questions from its start.)
   */
  const smallRoom = () => ctx.roomSize() <= SMALL_ROOM_MAX;
  /** Members dropped from the wait while our own sends failed: not said, so neither is their return. */
  const unsaid = new Set<string>();

  /**
   * REPORTs of instances that have not announced themselves yet: the latest per stream of ours,
   * used when they do (a member's first report goes out when it hears our HELLO, and can
   * overtake its presence answer). One entry per stream of ours, on peers the bounded peer
   * table holds: a made-up instance that never announces itself enters no flow control.
   */
  const early = new WeakMap<Peer, Map<OutboundStream<StreamFrame>, number>>();

  /**
   * A member reported its `next` for one of our streams (v1.1 or, from compat, the v1 view).
   * Only a member that announced itself (HELLO, PRESENCE or a heartbeat, and has not left)
   * enters flow control: a REPORT from a made-up instance must not hold our window, nor be
   * waited for, nor warned about.
   */
  const reported = (out: OutboundStream<StreamFrame>, p: Peer, next: number) => {
    if (!p.present) {
      ctx.counters.reportsIgnored++;
      if (p.gone) return;
      let m = early.get(p);
      if (!m) {
        m = new Map();
        early.set(p, m);
      }
      m.set(out, next);
      return;
    }
    // A member of an older revision (its presence names no one: no FEEDBACK) reports on every
    // progress, so it always counts; the others count while named or answering a question.
    const steady = p.feedback === undefined;
    out.flow.small = smallRoom();
    if (out.report(p.id, next, ctx.now(), steady) === "caught-up" && !unsaid.delete(p.id)) {
      ctx.warn(`${p.nick || p.id} has caught up; waiting for it again`);
    }
    dirty = true;
    ctx.wake();
  };
  ctx.services.reported = reported;
  /** Asks on `out` (if no question is open there) and has a heartbeat carry it within `ms`. */
  const ask = (out: OutboundStream<StreamFrame>, ms: number) => {
    if (!out.flow.asking) {
      out.flow.ask(ctx.now());
      dirty = true;
    }
    ctx.services.heartbeatSoon?.(ms);
  };
  ctx.services.askReports = (out, ms) => ask(out, ms);
  ctx.hooks.sent.push(() => {
    dirty = true;
    const small = smallRoom();
    for (const out of ctx.outboundStreams.values()) {
      out.flow.small = small;
      // Half the window used: ask now, so the answers come back before it is full.
      if (out.flow.wantsQuestion()) ask(out, 0);
    }
  });
  /** Completes questions that every present member answered (a small room: no need to wait). */
  const finishAnswered = (out: OutboundStream<StreamFrame>) => {
    if (!out.flow.asking) return;
    if (!out.flow.allAnswered(presentIds())) return;
    out.flow.finishQuestion();
    dirty = true;
    ctx.wake();
  };
  function* presentIds(): Generator<string> {
    // (0.2 members read none of our v1.1 streams: they answer on the v1 view)
    for (const p of ctx.peers.values()) if (p.present && !p.gone && p.wire !== "1.0") yield p.id;
  }
  const drop = (id: string) => {
    unsaid.delete(id);
    const now = ctx.now();
    for (const out of ctx.outboundStreams.values()) out.drop(id, now);
    dirty = true;
    ctx.wake();
  };
  ctx.hooks.left.push((p) => {
    early.delete(p);
    drop(p.id);
  });
  ctx.hooks.announced.push((p) => {
    const m = early.get(p);
    if (!m) return;
    early.delete(p);
    for (const [out, next] of m) reported(out, p, next);
  });
  ctx.hooks.forgotten.push(drop);

  return {
    name: "flow",
    frames: {
      stream_report(f, p) {
        ctx.counters.reportsHeard++;
        for (const e of f.entries) {
          if (e.target !== ctx.id) continue;
          const out = ctx.outboundStreams.get(e.stream);
          if (out) {
            reported(out, p, e.next);
            finishAnswered(out);
          }
        }
      },
    },
    deadline() {
      if (dirty) {
        dirty = false;
        stallAt = undefined;
        for (const out of ctx.outboundStreams.values()) {
          const t = out.flow.nextStall();
          if (t !== undefined && (stallAt === undefined || t < stallAt)) stallAt = t;
          const q = out.flow.questionEndsAt();
          if (q !== undefined && (stallAt === undefined || q < stallAt)) stallAt = q;
        }
      }
      return stallAt;
    },
    tick(now) {
      for (const out of ctx.outboundStreams.values()) {
        const q = out.flow.questionEndsAt();
        if (q !== undefined && now >= q) {
          out.flow.finishQuestion();
          ctx.wake();
        }
        for (const id of out.flow.checkStalls(now)) {
          // While our own sends fail, no member can keep up: that was said once already.
          if (ctx.cannotSend) unsaid.add(id);
          else {
            ctx.warn(
              `${name(id)} is not keeping up; no longer waiting for it (it may lose messages)`,
            );
          }
          out.missedBy(id, now);
          ctx.wake();
        }
      }
      dirty = true;
    },
  };
};
