/**
 * The session's counters in words, one naming for both places that show them: `--stats`
 * (one line on stderr at exit) and the chat's `/stats all`. `/stats` alone is the summary.
 */
import type { SessionStats } from "./stats.ts";

/** Every counter, named as `--stats` and `/stats all` show it, in order. */
export function statsItems(s: SessionStats, room: { encrypted?: boolean } = {}): string[] {
  const items = [
    `sent ${s.sent}`,
    `received ${s.received}`,
    `repaired ${s.repairsReceived} (repairs sent ${s.repairsSent})`,
    `NACKs sent ${s.nacksSent} / heard ${s.nacksHeard} / suppressed ${s.nacksSuppressed}`,
    `duplicates dropped ${s.duplicates}`,
    `lost ${s.lost}`,
    `malformed ${s.malformed}`,
    `receive buffer ${Math.round(s.recvBufferBytes / 1024)} KiB`,
    `reports sent ${s.reportsSent} / heard ${s.reportsHeard} / left to others ${s.reportsSuppressed}`,
    `window waits ${s.flowWaits}`,
    `bridged to legacy ${s.bridged}`,
    `spoofed ${s.spoofed}`,
    `refused: members ${s.peersRefused} / held ${s.holdRefused} / repairs ${s.repairsRefused} / history ${s.historyRefused}`,
    `records of unread kinds skipped ${s.skipped}`,
    `reports of unannounced members ignored ${s.reportsIgnored}`,
    `listener errors ${s.listenerErrors}`,
  ];
  // Last (before the encrypted room's): scripts read the --stats line from its start.
  if (s.roomSize > 0) {
    items.push(
      `room size (estimate) ${s.roomSize}, heartbeat every ${seconds(s.heartbeatIntervalMs)}`,
    );
  }
  if (room.encrypted) {
    items.push(
      `encrypted room: undecryptable ${s.undecryptable}, replayed ${s.replayed}, plaintext dropped ${s.plaintextDropped}`,
    );
  }
  return items;
}

/** 2 s, 20.5 s. */
function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * `/stats`: one line in plain words; `members` when the room has a member list, and the room
 * size estimate when it says more than that (members past the cap, heard but not listed).
 */
export function statsSummary(s: SessionStats, members?: number): string {
  const parts = [
    `sent ${s.sent}`,
    `received ${s.received}`,
    `repaired ${s.repairsReceived}`,
    `lost ${s.lost}`,
  ];
  if (members !== undefined) parts.push(`members ${members}`);
  if (s.roomSize > 0) parts.push(`room size (estimate) ${s.roomSize}`);
  return `${parts.join(", ")} (/stats all for every counter)`;
}
