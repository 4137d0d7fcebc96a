/**
 * The ambient heartbeat interval of a room of N̂ members: every member hears the heartbeats of
 * all the others, so the interval grows with the room to keep that at most
 * HEARTBEATS_HEARD_PER_SECOND in total (a room of 1,000: one heartbeat each 20 s). Never
 * shorter than the configured interval.
 */

/** Heartbeats a member hears per second from the whole room, at most (ambient ones). */
export const HEARTBEATS_HEARD_PER_SECOND = 50;

/** max(configured, N̂ / HEARTBEATS_HEARD_PER_SECOND seconds), in ms. */
export function roomIntervalMs(configuredMs: number, roomSize: number): number {
  return Math.max(configuredMs, Math.ceil((roomSize * 1000) / HEARTBEATS_HEARD_PER_SECOND));
}
