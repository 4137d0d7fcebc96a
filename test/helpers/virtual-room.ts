/**
 * A room of real Sessions over an in-memory hub (MemoryHub) on its own virtual clock: time moves
 * only when a test runs the clock, so nothing sleeps and a busy machine changes nothing.
 * Sessions made here are closed by `closeRoomMembers` (call it in afterEach).
 */
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession, type SessionOptions } from "../../src/session/session.ts";
import { MemoryHub } from "./memory-net.ts";
import { mulberry32, VirtualClock } from "./virtual-clock.ts";

const members: RoomSession[] = [];

/** Closes every session `roomMember` made. */
export async function closeRoomMembers(): Promise<void> {
  for (const s of members.splice(0)) await s.close();
}

/** A room on its own virtual clock; datagrams take 0.5 ms. */
export function virtualRoom() {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  return { vc, hub, n: 0 };
}
export type VirtualRoom = ReturnType<typeof virtualRoom>;

/**
 * A member `nick` at `address` (the hub picks one if absent): UTF-8, framed, 200 ms heartbeats,
 * its own seeded randomness; its events collected in order.
 */
export function roomMember(
  r: VirtualRoom,
  nick: string,
  extra: Partial<SessionOptions> = {},
  address?: string,
) {
  const transport = r.hub.attach(address);
  const s = createSession({
    transport,
    encoding: "utf8",
    raw: false,
    nick,
    heartbeatMs: 200,
    scheduler: r.vc,
    random: mulberry32(++r.n),
    ...extra,
  });
  const events: SessionEvent[] = [];
  s.on((e) => events.push(e));
  members.push(s);
  return { s, events, transport };
}

/** Runs the room's clock until `cond` holds (at most `ms` virtual ms); throws if it never does. */
export async function until(r: VirtualRoom, cond: () => boolean, ms = 3000): Promise<void> {
  if (!(await r.vc.runUntilTrue(cond, ms))) throw new Error("condition not met in time");
}
