/**
 * suppressionBackoff: the NORM-style truncated exponential back-off of NACKs and of answers to questions (RFC 5740 §5.5.1). Checked
 * against its closed forms with seeded randomness: most draws sit near the maximum, few early,
 * and the bigger the room the fewer early ones; none at all in rooms of 4 or fewer.
 */
import { describe, expect, test } from "bun:test";
import { NO_BACKOFF_MAX_MEMBERS, suppressionBackoff } from "../../src/session/backoff.ts";
import { mulberry32 } from "../helpers/virtual-clock.ts";

const T = 60;
const SAMPLES = 100_000;

/** λ for a room of n. */
const lambdaOf = (n: number) => Math.log(n) + 1;
/** Expected back-off: T·(1/(1 − e^−λ) − 1/λ). */
const meanOf = (n: number) => T * (1 / (1 - Math.exp(-lambdaOf(n))) - 1 / lambdaOf(n));
/** P(t < x): (e^(λx/T) − 1) / (e^λ − 1). */
const cdfOf = (n: number, x: number) => Math.expm1((lambdaOf(n) * x) / T) / Math.expm1(lambdaOf(n));

function draws(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: SAMPLES }, () => suppressionBackoff(random, n, T));
}

describe("suppressionBackoff", () => {
  test("zero, without a random draw, in rooms of 4 or fewer", () => {
    expect(NO_BACKOFF_MAX_MEMBERS).toBe(4);
    let drawn = 0;
    const random = () => {
      drawn++;
      return 0.9;
    };
    for (const n of [0, 1, 2, 3, 4, Number.NaN, -5])
      expect(suppressionBackoff(random, n, T)).toBe(0);
    expect(drawn).toBe(0);
    expect(suppressionBackoff(random, 5, T)).toBeGreaterThan(0);
    expect(drawn).toBe(1);
  });

  test("inverse transform: u = 0 gives 0, u → 1 gives T, u = 1/2 is past the middle", () => {
    for (const n of [5, 20, 100, 1000, 4096]) {
      expect(suppressionBackoff(() => 0, n, T)).toBe(0);
      expect(suppressionBackoff(() => 1 - 2 ** -53, n, T)).toBeCloseTo(T, 6);
      const median = suppressionBackoff(() => 0.5, n, T);
      // closed form: (T/λ)·ln((1 + e^λ)/2)
      expect(median).toBeCloseTo((T / lambdaOf(n)) * Math.log((1 + Math.exp(lambdaOf(n))) / 2), 9);
      expect(median).toBeGreaterThan(T / 2);
    }
  });

  test("bounded in [0, T], whatever random() and the room size say", () => {
    for (const u of [0, 0.3, 0.999999, 1, 1.5, -1, Number.NaN]) {
      for (const n of [5, 1e6, 1e12, Number.POSITIVE_INFINITY]) {
        const t = suppressionBackoff(() => u, n, T);
        expect(t).toBeGreaterThanOrEqual(0);
        expect(t).toBeLessThanOrEqual(T);
      }
    }
    expect(suppressionBackoff(() => 0.5, 100, 0)).toBe(0);
    expect(suppressionBackoff(() => 0.5, 100, -3)).toBe(0);
    for (const t of draws(1000, 3)) {
      expect(t >= 0 && t <= T).toBe(true);
    }
  });

  test("mean and share under T/4 match the distribution, room by room", () => {
    const rows: string[] = [];
    let lastEarly = 1;
    for (const [i, n] of [5, 20, 100, 1000].entries()) {
      const ts = draws(n, 11 + i);
      const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
      const early = ts.filter((t) => t < T / 4).length / ts.length;
      rows.push(
        `N̂=${n}: mean ${mean.toFixed(2)} ms (expected ${meanOf(n).toFixed(2)}), ` +
          `under T/4 ${(early * 100).toFixed(2)} % (expected ${(cdfOf(n, T / 4) * 100).toFixed(2)} %)`,
      );
      expect(Math.abs(mean - meanOf(n))).toBeLessThan(0.3);
      expect(Math.abs(early - cdfOf(n, T / 4))).toBeLessThan(0.004);
      // Most timers near T: the mean is well past the middle (a uniform draw's would be T/2) and
      // far fewer than a quarter of the draws fall in the first quarter; fewer as the room grows.
      expect(mean).toBeGreaterThan(0.6 * T);
      expect(early).toBeLessThan(0.1);
      expect(early).toBeLessThan(lastEarly);
      lastEarly = early;
    }
    console.log(`suppressionBackoff, T = ${T} ms, ${SAMPLES} draws each:\n  ${rows.join("\n  ")}`);
  });
});
