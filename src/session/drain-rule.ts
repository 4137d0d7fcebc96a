/**
 * When a pipe sender may leave after input EOF (PROTOCOL.md §8, "Drain"): not before every
 * present member has reported our tail, so nothing we sent can still need a repair. Pure.
 */
import type { FlowControl } from "./flow-control.ts";
import type { PeerTable } from "./peer-table.ts";
import type { RepairBuffer } from "./repair-buffer.ts";

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
 * Members (nick, or id) that may still need something we sent: present members behind our
 * tail — a lagging one only while what it needs next is still in the repair buffer — and,
 * for FIRST_REPORT_WAIT_MS after the drain started, present members that never reported.
 */
export function membersBehind(
  peers: PeerTable,
  flow: FlowControl,
  buffer: RepairBuffer,
  sinceDrainMs: number,
): string[] {
  const out: string[] = [];
  const reported = flow.behindMembers();
  for (const p of peers.values()) {
    if (p.gone || !p.present) continue;
    const r = reported.get(p.id);
    const waitFor = r
      ? !r.lagging || buffer.get(r.next) !== undefined
      : !flow.hasReported(p.id) && sinceDrainMs < FIRST_REPORT_WAIT_MS;
    if (waitFor) out.push(p.nick || p.id);
  }
  return out;
}
