/**
 * When a pipe sender may leave after input EOF (PROTOCOL.md §8 "Drain", §13.3): not before the
 * room confirmed our tail in every stream of ours, so nothing we sent can still need a repair —
 * in a small room (flow-control.ts SMALL_ROOM_MAX) every present member reported it; in a big
 * one two questions in a row at our tail found nobody behind. Pure.
 */
import type { PeerTable } from "../room/peer-table.ts";
import type { OutboundStream } from "./outbound-stream.ts";
import type { StreamFrame } from "./repair-buffer.ts";

/** A pipe sender waits this long after EOF, at most, for the room to report our tail (ms). */
export const DRAIN_MAX_MS = 20_000;
/**
 * Before leaving, a sender waits at least this long after its start (ms): members that were
 * there answer our HELLO within 0-200 ms, and we must know them to wait for their reports.
 */
export const DRAIN_MIN_AGE_MS = 300;
/** How long a drain waits for the first report of a present member that never reported (ms). */
export const FIRST_REPORT_WAIT_MS = 1500;

/**
 * Members (nick, or id) that may still need something we sent: present members behind our tail
 * in a stream they report on — a lagging one only while what it needs next is still in that
 * stream's repair buffer — and, for FIRST_REPORT_WAIT_MS after the drain started, present
 * members that never reported on any stream we sent in.
 */
export function membersBehind(
  peers: PeerTable,
  streams: readonly OutboundStream<StreamFrame>[],
  sinceDrainMs: number,
  small = true,
): string[] {
  const used = streams.filter((s) => !s.unused);
  const behind = used.map((s) => ({ s, members: s.flow.behindMembers(small) }));
  const out: string[] = [];
  for (const p of peers.values()) {
    if (p.gone || !p.present) continue;
    let waitFor = false;
    let reported = false;
    for (const { s, members } of behind) {
      if (s.flow.hasReported(p.id)) reported = true;
      const r = members.get(p.id);
      if (r && (!r.lagging || s.buffer.get(r.next) !== undefined)) waitFor = true;
      // A big room: a member that answered the last question below our tail, not named.
      if (!small && !r && s.flow.lastQuestion.answered.has(p.id) && !atTail(s, p.id)) {
        waitFor = true;
      }
    }
    // (a big room takes silence after our questions as "reached", §13.3)
    if (small && !reported && used.length > 0 && sinceDrainMs < FIRST_REPORT_WAIT_MS) {
      waitFor = true;
    }
    if (waitFor) out.push(p.nick || p.id);
  }
  return out;
}

/** Whether member `id`'s last report on `s` is at our tail (or it is lagging beyond repair). */
function atTail(s: OutboundStream<StreamFrame>, id: string): boolean {
  const r = s.flow.memberOf(id);
  if (!r || (r.lagging && s.buffer.get(r.next) === undefined)) return true;
  return r.next === (s.tail + 1) >>> 0;
}

/**
 * Whether the room confirmed our tail in stream `s` beyond the members it names: in a small
 * room the members' own reports say it (membersBehind); in a big one two questions in a row
 * asked at our tail completed with nobody behind it (silence must survive one lost question).
 */
export function confirmed(s: OutboundStream<StreamFrame>, small: boolean): boolean {
  if (s.unused || small) return true;
  const q = s.flow.lastQuestion;
  return q.watermark === (s.tail + 1) >>> 0 && q.clean >= 2;
}
