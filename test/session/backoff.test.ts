import { describe, expect, test } from "bun:test";
import { NO_BACKOFF_MAX_MEMBERS, suppressionBackoff } from "../../src/session/backoff.ts";
import { mulberry32 } from "../helpers/virtual-clock.ts";

describe("suppressionBackoff (NORM's truncated exponential, λ = ln N̂ + 1)", () => {
  test("no back-off in rooms of 4 or fewer", () => {
    for (const n of [1, 2, 3, NO_BACKOFF_MAX_MEMBERS]) {
      expect(suppressionBackoff(0.9, n, 40)).toBe(0);
    }
    expect(suppressionBackoff(0.9, 5, 40)).toBeGreaterThan(0);
  });

  test("bounded in [0, T]; most draws late, few early, more so as the room grows", () => {
    const rng = mulberry32(7);
    const share = (n: number) => {
      let early = 0;
      let sum = 0;
      for (let i = 0; i < 20_000; i++) {
        const t = suppressionBackoff(rng(), n, 40);
        expect(t).toBeGreaterThanOrEqual(0);
        expect(t).toBeLessThanOrEqual(40);
        if (t < 10) early++;
        sum += t;
      }
      return { early: early / 20_000, mean: sum / 20_000 };
    };
    const ten = share(10);
    const thousand = share(1000);
    console.log(
      `back-off over 40 ms: N̂=10 mean ${ten.mean.toFixed(1)} ms, ${(ten.early * 100).toFixed(2)} % under 10 ms; N̂=1000 mean ${thousand.mean.toFixed(1)} ms, ${(thousand.early * 100).toFixed(3)} % under 10 ms`,
    );
    // Density ∝ e^(λt/T): the share under T/4 is (e^(λ/4) - 1) / (e^λ - 1).
    const expected = (n: number) => {
      const l = Math.log(n) + 1;
      return Math.expm1(l / 4) / Math.expm1(l);
    };
    expect(Math.abs(ten.early - expected(10))).toBeLessThan(0.01);
    expect(Math.abs(thousand.early - expected(1000))).toBeLessThan(0.002);
    expect(thousand.mean).toBeGreaterThan(ten.mean);
    expect(thousand.mean).toBeGreaterThan(30);
    expect(suppressionBackoff(0, 1000, 40)).toBe(0);
    expect(suppressionBackoff(0.999999, 1000, 40)).toBeCloseTo(40, 3);
  });
});
