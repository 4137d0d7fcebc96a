import { expect, test } from "bun:test";
import { formatStats, recvBufferWarning } from "../../src/join.ts";
import { emptyStats } from "../../src/session/stats.ts";

test("warns only when the kernel gave less than half of the receive buffer asked for", () => {
  const asked = 8 * 1024 * 1024;
  expect(recvBufferWarning(asked, asked)).toBeUndefined();
  expect(recvBufferWarning(asked / 2, asked)).toBeUndefined(); // Linux: rmem_max 4 MiB, reported doubled
  expect(recvBufferWarning(0, asked)).toBeUndefined(); // unknown
  expect(recvBufferWarning(425984, asked)).toBe(
    "the kernel gave a 416 KiB receive buffer (asked 8192 KiB); bursts will need more repairs (raise net.core.rmem_max)",
  );
});

test("--stats line names every counter", () => {
  const s = {
    ...emptyStats(),
    sent: 3,
    received: 7,
    repairsReceived: 2,
    lost: 1,
    recvBufferBytes: 8 << 20,
    reportsSent: 4,
    reportsHeard: 5,
    flowWaits: 6,
    bridged: 2,
    spoofed: 7,
    peersRefused: 8,
    holdRefused: 9,
    repairsRefused: 10,
    historyRefused: 11,
    skipped: 12,
    reportsIgnored: 13,
    listenerErrors: 14,
  };
  expect(formatStats(s)).toBe(
    "mcchat: stats: sent 3, received 7, repaired 2 (repairs sent 0), NACKs sent 0 / heard 0 / suppressed 0, " +
      "duplicates dropped 0, lost 1, malformed 0, receive buffer 8192 KiB, reports sent 4 / heard 5 / left to others 0, " +
      "window waits 6, bridged to legacy 2, spoofed 7, refused: members 8 / held 9 / repairs 10 / history 11, " +
      "records of unread kinds skipped 12, reports of unannounced members ignored 13, listener errors 14",
  );
});

test("--stats in an encrypted room adds what the transport dropped", () => {
  const s = { ...emptyStats(), undecryptable: 4, replayed: 2, plaintextDropped: 9 };
  expect(formatStats(s, { encrypted: true })).toEndWith(
    ", listener errors 0, encrypted room: undecryptable 4, replayed 2, plaintext dropped 9",
  );
  expect(formatStats(s)).toEndWith(
    ", records of unread kinds skipped 0, reports of unannounced members ignored 0, listener errors 0",
  );
});
