import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { seqAdd, seqDiff, seqLess } from "../../src/protocol/index.ts";

const MAX = 0xffffffff;

describe("seqAdd", () => {
  test("wraps past 2^32 - 1", () => {
    expect(seqAdd(MAX, 1)).toBe(0);
    expect(seqAdd(MAX - 1, 3)).toBe(1);
    expect(seqAdd(0, -1)).toBe(MAX);
    expect(seqAdd(5, 0)).toBe(5);
    expect(seqAdd(0, 2 ** 32)).toBe(0);
  });
  test("always a u32", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer(), (a, n) => {
        const r = seqAdd(a, n);
        expect(Number.isInteger(r) && r >= 0 && r <= MAX).toBe(true);
      }),
    );
  });
});

describe("seqDiff", () => {
  test("signed distance across the wrap", () => {
    expect(seqDiff(0, MAX)).toBe(1);
    expect(seqDiff(MAX, 0)).toBe(-1);
    expect(seqDiff(2, MAX - 1)).toBe(4);
    expect(seqDiff(10, 3)).toBe(7);
    expect(seqDiff(3, 10)).toBe(-7);
    expect(seqDiff(7, 7)).toBe(0);
    expect(seqDiff(2 ** 31 - 1, 0)).toBe(2 ** 31 - 1);
    expect(seqDiff(2 ** 31, 0)).toBe(-(2 ** 31));
  });
  test("seqDiff(seqAdd(b, d), b) === d for |d| < 2^31", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX }),
        fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }),
        (b, d) => {
          expect(seqDiff(seqAdd(b, d), b)).toBe(d);
        },
      ),
    );
  });
});

describe("seqLess", () => {
  test("RFC 1982 order across the wrap", () => {
    expect(seqLess(MAX, 0)).toBe(true);
    expect(seqLess(0, MAX)).toBe(false);
    expect(seqLess(MAX - 5, 3)).toBe(true);
    expect(seqLess(1, 2)).toBe(true);
    expect(seqLess(2, 1)).toBe(false);
    expect(seqLess(4, 4)).toBe(false);
  });
  test("numbers exactly 2^31 apart are unordered", () => {
    expect(seqLess(0, 2 ** 31)).toBe(false);
    expect(seqLess(2 ** 31, 0)).toBe(false);
  });
  test("antisymmetric", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: MAX }), (a, b) => {
        expect(seqLess(a, b) && seqLess(b, a)).toBe(false);
      }),
    );
  });
});
