import { describe, expect, test } from "bun:test";
import { FlowControl } from "../../../src/session/sending/flow-control.ts";

/** Sends `n` fragments of `bytes` each with seqs from `from`. */
function sendN(f: FlowControl, from: number, n: number, bytes = 100): number {
  for (let i = 0; i < n; i++) f.sent(from + i, bytes);
  return from + n;
}

describe("FlowControl", () => {
  test("the window fills at windowFragments beyond the slowest reporting member", () => {
    const f = new FlowControl({ windowFragments: 10, windowBytes: 1e9, stallMs: 1000 });
    expect(f.hasRoom(1, 100)).toBe(true); // nobody reported: nothing holds us back
    f.report("a", 0, 0);
    f.report("b", 0, 0);
    sendN(f, 0, 9);
    expect(f.hasRoom(1, 100)).toBe(true);
    sendN(f, 9, 1);
    expect(f.hasRoom(1, 100)).toBe(false);
    f.report("a", 10, 1);
    expect(f.hasRoom(1, 100)).toBe(false); // b still at 0
    f.report("b", 5, 1);
    expect(f.hasRoom(5, 500)).toBe(true);
    expect(f.hasRoom(6, 600)).toBe(false);
    expect([...f.behindMembers().keys()]).toEqual(["b"]);
  });

  test("bytes count too", () => {
    const f = new FlowControl({ windowFragments: 1000, windowBytes: 1000, stallMs: 1000 });
    f.report("a", 0, 0);
    sendN(f, 0, 9, 100);
    expect(f.hasRoom(1, 100)).toBe(true);
    expect(f.hasRoom(1, 101)).toBe(false);
  });

  test("a member stuck for stallMs stops holding us back, and holds us again once caught up", () => {
    const f = new FlowControl({ windowFragments: 10, windowBytes: 1e9, stallMs: 1000 });
    f.report("a", 0, 0);
    sendN(f, 0, 10);
    expect(f.nextStall()).toBe(1000);
    expect(f.checkStalls(999)).toEqual([]);
    expect(f.checkStalls(1000)).toEqual(["a"]);
    expect(f.hasRoom(1, 100)).toBe(true);
    expect(f.waiting).toBe(true); // still behind (drain waits on it while repairable)
    expect(f.report("a", 4, 1100)).toBeUndefined(); // 6 behind: not within half a window
    expect(f.report("a", 5, 1200)).toBe("caught-up");
    expect(f.hasRoom(6, 100)).toBe(false);
  });

  test("a report beyond what we sent is clamped; a member that leaves is forgotten", () => {
    const f = new FlowControl({ windowFragments: 10, windowBytes: 1e9, stallMs: 1000 });
    sendN(f, 0, 3);
    f.report("a", 99, 0);
    expect(f.behindMembers().size).toBe(0);
    sendN(f, 3, 10);
    expect(f.hasRoom(1, 1)).toBe(false); // clamped to 3, so 10 behind
    f.remove("a");
    expect(f.hasRoom(1, 1)).toBe(true);
    expect(f.hasReported("a")).toBe(false);
  });
});
