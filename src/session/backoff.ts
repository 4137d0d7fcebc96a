/**
 * The random back-off before feedback that many members may want to send at once (a report
 * that answers a question, PROTOCOL.md §13.2): NORM's truncated exponential (RFC 5740 §5.3),
 * written from its description. Over [0, maxMs], with λ = ln(N̂) + 1 the density grows towards
 * maxMs: most members wait nearly the whole window and a few answer early, so the first
 * answer heard suppresses the rest however big the room. No back-off in rooms of
 * NO_BACKOFF_MAX_MEMBERS or fewer: there the wait would cost more than the few extra frames.
 */

/** Rooms of at most this many members (N̂) answer at once. */
export const NO_BACKOFF_MAX_MEMBERS = 4;

/**
 * A back-off in [0, maxMs] ms: `u` uniform in [0, 1) (the session's random()), `roomSize` the
 * room size estimate N̂ (ourselves included).
 */
export function suppressionBackoff(u: number, roomSize: number, maxMs: number): number {
  if (!(roomSize > NO_BACKOFF_MAX_MEMBERS) || !(maxMs > 0)) return 0;
  const lambda = Math.log(roomSize) + 1;
  const t = (maxMs / lambda) * Math.log(1 + Math.min(Math.max(u, 0), 1) * Math.expm1(lambda));
  return Math.min(maxMs, Math.max(0, t));
}
