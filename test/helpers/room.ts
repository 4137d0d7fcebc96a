/**
 * Setting up a room on lab hosts: members that have seen each other join, and legacy
 * peers (test/helpers/legacy_peer.py) that have joined the group.
 */
import iconv from "iconv-lite";
import { joinedId, waitFor } from "./events.ts";
import { failIfExited, type Host, legacyPeerCommand, type Proc } from "./netns.ts";

/**
 * Polls (bounded) until each watcher has printed a join for every nick it is listed with,
 * e.g. `[[alice, ["bob"]], [bob, ["alice"]]]`; throws with `what` and `procs`' output.
 */
export function waitForJoins(
  sightings: [watcher: Proc, nicks: string[]][],
  timeoutMs: number,
  what: string,
  procs: Proc[],
): Promise<void> {
  return waitFor(
    () => sightings.every(([p, nicks]) => nicks.every((nick) => !!joinedId(p, nick))),
    timeoutMs,
    what,
    procs,
  );
}

/** Matches "address:port" (IPv6: "[address]:port") of a datagram sent from `address`. */
export const fromAddress = (address: string) =>
  address.includes(":")
    ? new RegExp(`^\\[${address}\\]:\\d+$`)
    : new RegExp(`^${address.replaceAll(".", "\\.")}:\\d+$`);

/** Matches "address:port" of a datagram sent by `host` (from its IPv4 address). */
export const fromHost = (host: Host) => fromAddress(host.address);

/**
 * Polls `cond` (bounded) while every one of `procs` keeps running: one that exited fails the
 * wait at once; a timeout throws with `what` and `procs`' output.
 */
export const waitWhileRunning = (
  procs: Proc[],
  cond: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> =>
  waitFor(
    () => {
      failIfExited(procs, what);
      return cond();
    },
    timeoutMs,
    what,
    procs,
  );

/** One JSON line of `legacy_peer.py recv`: a datagram as received. */
export type Datagram = { from: string; hex: string; len: number; truncated: boolean; text: string };

/** Hex of `text` in GBK, as a legacy peer sends or receives it. */
export const gbkHex = (text: string) => iconv.encode(text, "gbk").toString("hex");

/** `legacy_peer.py recv GROUP PORT …args` on `host`, once it has joined (READY). */
export async function legacyReceiver(
  host: Host,
  group: string,
  port: number | string,
  args: string[],
): Promise<Proc> {
  const p = host.spawn([...legacyPeerCommand(), "recv", group, String(port), ...args]);
  await p.waitForLine(/^READY$/, 5000, "stderr");
  return p;
}
