/**
 * How long a receiver waits before feedback that many members may want to send at once — a NACK
 * for a loss it just found, or the answer to a sender's question (PROTOCOL.md §13.2) —
 * NORM-style (RFC 5740 §5.5.1, after Nonnenmacher and Biersack): a truncated exponential over [0, maxMs] with
 * λ = ln(N̂) + 1, where N̂ is the estimated room size. Its density grows toward `maxMs`, so
 * most receivers wait nearly the whole time and only a few draw an early time; the first NACK
 * the room hears suppresses the rest (SRM suppression, receiver-window.ts onNackHeard; a heard
 * report at or below ours, reports.ts). The
 * expected number of NACKs per shared loss then stays nearly flat as the room grows, where a
 * uniform back-off would give one per (round trip / back-off) share of the room.
 *
 * In rooms of NO_BACKOFF_MAX_MEMBERS members or fewer there is nobody worth waiting for: the
 * NACK goes out at once (a delay would only slow the repair down).
 */

/** Rooms of this many members or fewer send at once (no back-off). */
export const NO_BACKOFF_MAX_MEMBERS = 4;
/**
 * A room size estimate is believed up to this (it comes from what we heard, which a hostile
 * member can inflate): λ stays finite and the distribution well defined.
 */
export const BACKOFF_MAX_ROOM = 1_000_000;

/**
 * Back-off in [0, maxMs] (ms) for a room of about `roomSize` members, from one draw of `random`
 * (uniform in [0, 1)); 0, without a draw, when the room has NO_BACKOFF_MAX_MEMBERS members or
 * fewer (or the estimate is not a number, or maxMs is not positive).
 *
 * Inverse transform: with u uniform, t = (T/λ)·ln(1 + u·(e^λ − 1)) has the density
 * λ/T · e^(λt/T) / (e^λ − 1) on [0, T].
 */
export function suppressionBackoff(random: () => number, roomSize: number, maxMs: number): number {
  if (!(roomSize > NO_BACKOFF_MAX_MEMBERS) || !(maxMs > 0)) return 0;
  const lambda = Math.log(Math.min(roomSize, BACKOFF_MAX_ROOM)) + 1;
  const u = random();
  const t = (maxMs / lambda) * Math.log1p(u * Math.expm1(lambda));
  // A random() outside [0, 1) (a test's, or NaN) must not give a time outside [0, maxMs].
  return t >= 0 ? Math.min(t, maxMs) : 0;
}
