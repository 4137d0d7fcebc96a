/** The anti-replay window of sealed frames (src/net/replay-window.ts, PROTOCOL.md §10.4). */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  MAX_COUNTER_JUMP,
  REPLAY_WINDOW_WIDTH,
  ReplayWindow,
} from "../../src/net/replay-window.ts";
import { MAX_COUNTER } from "../../src/protocol/index.ts";

const W = BigInt(REPLAY_WINDOW_WIDTH);

describe("ReplayWindow", () => {
  test("is 1024 wide by default", () => {
    expect(REPLAY_WINDOW_WIDTH).toBe(1024);
    expect(new ReplayWindow().size).toBe(1024);
  });

  test("in order: each counter once", () => {
    const w = new ReplayWindow();
    for (let c = 0n; c < 3000n; c++) {
      expect(w.check(c)).toBe(true);
      expect(w.accept(c)).toBe(true);
      expect(w.check(c)).toBe(false);
      expect(w.accept(c)).toBe(false);
    }
    expect(w.highest).toBe(2999n);
  });

  test("a first counter that is not 0 is fine (a receiver joins late)", () => {
    const w = new ReplayWindow();
    expect(w.accept(123_456n)).toBe(true);
    expect(w.accept(123_455n)).toBe(true);
    expect(w.accept(123_456n)).toBe(false);
  });

  test("reordered within the window: accepted once each", () => {
    const w = new ReplayWindow();
    expect(w.accept(100n)).toBe(true);
    for (const c of [99n, 50n, 0n, 98n]) {
      expect(w.accept(c)).toBe(true);
    }
    for (const c of [99n, 50n, 0n, 98n, 100n]) expect(w.accept(c)).toBe(false);
    expect(w.check(97n)).toBe(true);
  });

  test("check changes nothing", () => {
    const w = new ReplayWindow();
    w.accept(5n);
    expect(w.check(10n)).toBe(true);
    expect(w.check(10n)).toBe(true);
    expect(w.highest).toBe(5n);
    expect(w.check(4n)).toBe(true);
    expect(w.accept(4n)).toBe(true);
  });

  test("too old: at or below highest - width", () => {
    const w = new ReplayWindow();
    w.accept(5000n);
    expect(w.check(5000n - W + 1n)).toBe(true); // the oldest slot still in the window
    expect(w.check(5000n - W)).toBe(false);
    expect(w.accept(5000n - W)).toBe(false);
    expect(w.accept(0n)).toBe(false);
  });

  test("moving forward forgets the slots the window slides over, nothing else", () => {
    const w = new ReplayWindow();
    w.accept(10n);
    w.accept(12n);
    w.accept(10n + W - 1n); // 10 is now the oldest slot, still in the window
    expect(w.accept(10n)).toBe(false);
    expect(w.accept(11n)).toBe(true);
    expect(w.accept(10n + W)).toBe(true); // 10 falls out
    expect(w.check(10n)).toBe(false);
    expect(w.check(12n)).toBe(false); // still remembered as seen
    expect(w.check(13n)).toBe(true);
  });

  test("a counter skipped over is new, though its slot held an older, seen counter", () => {
    const w = new ReplayWindow();
    for (let c = 0n; c < W; c++) w.accept(c); // every slot set
    expect(w.accept(W + 2n)).toBe(true); // skips W and W+1 (the slots of 0 and 1)
    expect(w.check(W)).toBe(true);
    expect(w.check(W + 1n)).toBe(true);
    expect(w.check(2n)).toBe(false); // 2 is still in the window, and seen
  });

  test("huge jumps: everything below the new window is too old, the window itself is empty", () => {
    const w = new ReplayWindow();
    for (let c = 0n; c < 10n; c++) w.accept(c);
    const far = 2n ** 40n;
    expect(w.accept(far)).toBe(true);
    expect(w.check(5n)).toBe(false);
    for (const c of [far - 1n, far - W + 1n, far - 512n]) expect(w.check(c)).toBe(true);
    expect(w.check(far - W)).toBe(false);
    expect(w.accept(MAX_COUNTER)).toBe(true);
    expect(w.accept(MAX_COUNTER)).toBe(false);
    expect(w.check(MAX_COUNTER - 1n)).toBe(true);
    expect(w.check(far)).toBe(false);
  });

  test("a jump by exactly the width clears the old slots (same slot indexes)", () => {
    const w = new ReplayWindow();
    w.accept(3n);
    w.accept(3n + W); // same slot index as 3
    expect(w.check(3n)).toBe(false); // too old now
    expect(w.check(3n + W)).toBe(false); // seen
    expect(w.check(4n)).toBe(true); // in the window, never seen
  });

  test("negative counters are refused", () => {
    expect(new ReplayWindow().check(-1n)).toBe(false);
  });

  test("model: same answers as a set of seen counters plus the too-old rule", () => {
    const counterAround = fc.oneof(
      fc.bigInt({ min: 0n, max: 3000n }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    );
    fc.assert(
      fc.property(fc.array(counterAround, { maxLength: 300 }), (counters) => {
        const w = new ReplayWindow();
        const seen = new Set<bigint>();
        let top = -1n;
        for (const c of counters) {
          const expected = !seen.has(c) && (c > top || top - c < W);
          expect(w.check(c)).toBe(expected);
          expect(w.accept(c)).toBe(expected);
          if (expected) {
            seen.add(c);
            if (c > top) top = c;
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test("model with small steps (reordering, duplicates, slides)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -70, max: 3 }), fc.integer({ min: -40, max: 300 })), {
          maxLength: 400,
        }),
        (steps) => {
          const w = new ReplayWindow(64);
          const seen = new Set<bigint>();
          let top = -1n;
          let at = 100n;
          for (const s of steps) {
            at = at + BigInt(s) < 0n ? 0n : at + BigInt(s);
            const expected = !seen.has(at) && (at > top || top - at < 64n);
            expect(w.accept(at)).toBe(expected);
            if (expected) {
              seen.add(at);
              if (at > top) top = at;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("size must be a multiple of 32", () => {
    expect(() => new ReplayWindow(100)).toThrow(RangeError);
    expect(() => new ReplayWindow(0)).toThrow(RangeError);
  });

  test("a floor refuses everything below it and slides an empty window up to it", () => {
    const w = new ReplayWindow();
    w.accept(5n);
    w.raiseFloor(100n);
    expect(w.floor).toBe(100n);
    expect(w.highest).toBe(99n);
    expect(w.check(99n)).toBe(false);
    expect(w.check(6n)).toBe(false);
    expect(w.accept(100n)).toBe(true);
    w.raiseFloor(50n); // never goes down
    expect(w.floor).toBe(100n);
    expect(w.check(99n)).toBe(false);
    // a floor within the window keeps what was seen above it
    w.accept(120n);
    w.raiseFloor(110n);
    expect(w.highest).toBe(120n);
    expect(w.check(120n)).toBe(false);
    expect(w.check(115n)).toBe(true);
    expect(w.check(109n)).toBe(false);
  });

  test(`a counter more than ${MAX_COUNTER_JUMP} above the top is far (the first never is)`, () => {
    const w = new ReplayWindow();
    expect(w.isFar(MAX_COUNTER - 1n)).toBe(false);
    w.accept(10n);
    expect(w.isFar(10n + MAX_COUNTER_JUMP)).toBe(false);
    expect(w.isFar(11n + MAX_COUNTER_JUMP)).toBe(true);
    expect(w.isFar(MAX_COUNTER)).toBe(true);
  });
});
