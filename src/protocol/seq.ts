/**
 * Circular arithmetic on u32 sequence numbers (RFC 1982 serial number arithmetic, SERIAL_BITS
 * = 32). Sequence numbers wrap from 2^32 - 1 to 0.
 */

const MOD = 2 ** 32;

/** a + n modulo 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (((a + n) % MOD) + MOD) % MOD;
}

/**
 * Signed circular distance from b to a: the d in [-2^31, 2^31 - 1] with a = b + d (mod 2^32).
 * Positive when a is "after" b. Numbers exactly 2^31 apart give -2^31 (RFC 1982: undefined).
 */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * RFC 1982 "a < b": b is 1..2^31 - 1 steps after a. For numbers exactly 2^31 apart neither is
 * less than the other.
 */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(b, a) > 0;
}
