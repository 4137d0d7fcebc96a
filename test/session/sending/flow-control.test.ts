import { describe, expect, test } from "bun:test";
import { FlowControl } from "../../../src/session/sending/flow-control.ts";

/** Sends `n` fragments of `bytes` each with seqs from `from`, at time `at`. */
function sendN(f: FlowControl, from: number, n: number, bytes = 100, at = 0): number {
  for (let i = 0; i < n; i++) f.sent(from + i, bytes, at);
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
    // still behind (drain waits on it while repairable)
    expect(f.behindMembers().get("a")).toMatchObject({ behind: 10, lagging: true });
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

  test("the stall clock starts when the member falls behind, not at its last report", () => {
    const f = new FlowControl({ windowFragments: 10, windowBytes: 1e9, stallMs: 6000 });
    // One line at 0, reported at once; then a pause of 9 s (and later 60 s).
    sendN(f, 0, 1, 100, 0);
    f.report("bob", 1, 20);
    let seq = 1;
    let t = 20;
    for (const pause of [9_000, 60_000]) {
      expect(f.nextStall()).toBeUndefined(); // nothing is behind: no stall is due at all
      t += pause;
      sendN(f, seq, 1, 100, t);
      // bob fell behind only now: 6 s from now, not 6 s from his last report (long past)
      expect(f.nextStall()).toBe(t + 6000);
      expect(f.checkStalls(t)).toEqual([]);
      expect(f.checkStalls(t + 50)).toEqual([]);
      expect(f.report("bob", ++seq, t + 50)).toBeUndefined(); // no "caught up" either
    }
    // A frozen member still stalls after the same time: it falls behind at 70,000 and never
    // reports again.
    sendN(f, seq, 1, 100, 70_000);
    expect(f.checkStalls(75_999)).toEqual([]);
    expect(f.checkStalls(76_000)).toEqual(["bob"]);
  });

  test("a member behind for long and still progressing keeps its clock at its last progress", () => {
    const f = new FlowControl({ windowFragments: 100, windowBytes: 1e9, stallMs: 1000 });
    f.report("a", 0, 0);
    sendN(f, 0, 50, 100, 0);
    f.report("a", 10, 900); // progress at 900: behind since seq 10 (sent at 0)
    expect(f.nextStall()).toBe(1900);
    expect(f.checkStalls(1899)).toEqual([]);
    expect(f.checkStalls(1900)).toEqual(["a"]);
  });
});

describe("FlowControl in a big room (questions, PROTOCOL.md §13.3)", () => {
  const big = (windowFragments = 10) => {
    const f = new FlowControl({ windowFragments, windowBytes: 1e9, stallMs: 1000 });
    f.small = false;
    return f;
  };

  test("before any question the floor is the stream's start; silence after a question is 'reached'", () => {
    const f = big();
    sendN(f, 0, 10);
    expect(f.hasRoom(1, 1)).toBe(false); // nobody asked yet: not known past 0
    expect(f.ask(5)).toBe(10);
    expect(f.asking).toBe(true);
    expect(f.questionEndsAt()).toBe(85);
    f.finishQuestion();
    expect(f.asking).toBe(false);
    expect(f.floor()).toBe(10);
    expect(f.hasRoom(10, 1)).toBe(true);
    expect(f.lastQuestion).toMatchObject({ watermark: 10, floor: 10, clean: 1 });
  });

  test("the slowest answers are named (at most 5) and hold the floor; the others' lowest bounds it", () => {
    const f = big(100);
    sendN(f, 0, 60);
    f.ask(0);
    const answers: [string, number][] = [
      ["a", 10],
      ["b", 20],
      ["c", 30],
      ["d", 40],
      ["e", 50],
      ["g", 55],
      ["h", 58],
    ];
    for (const [id, next] of answers) f.report(id, next, 1, false);
    expect(f.floor()).toBe(0); // the silent ones: not known past 0 until the question completes
    f.finishQuestion();
    expect(f.named).toEqual(["a", "b", "c", "d", "e"]);
    expect(f.lastQuestion.floor).toBe(55); // g, not named, answered 55
    expect(f.lastQuestion.clean).toBe(0);
    expect(f.floor()).toBe(10);
    f.report("a", 60, 2, false); // named: counts as it moves
    expect(f.floor()).toBe(20);
    for (const id of ["b", "c", "d", "e"]) f.report(id, 60, 3, false);
    expect(f.floor()).toBe(55); // bounded by what the question established
    // An answer that is not asked for and not named does not count (nor hold us) later.
    f.report("z", 1, 4, false);
    expect(f.floor()).toBe(55);
  });

  test("wants a question once half the window is used beyond the floor, not in a small room", () => {
    const f = big(10);
    sendN(f, 0, 4);
    expect(f.wantsQuestion()).toBe(false);
    sendN(f, 4, 1);
    expect(f.wantsQuestion()).toBe(true);
    f.ask(0);
    expect(f.wantsQuestion()).toBe(false); // one at a time
    f.finishQuestion();
    expect(f.wantsQuestion()).toBe(false); // floor at 5 now
    f.small = true;
    sendN(f, 5, 9);
    expect(f.wantsQuestion()).toBe(false);
  });

  test("two clean questions in a row at the tail confirm it (the big room's drain)", () => {
    const f = big();
    sendN(f, 0, 3);
    f.ask(0);
    f.report("a", 2, 1, false);
    f.finishQuestion();
    expect(f.lastQuestion.clean).toBe(0); // a was behind
    f.ask(100);
    f.finishQuestion(); // a is named: still at 2
    expect(f.lastQuestion.clean).toBe(0);
    f.report("a", 3, 200, false);
    f.ask(200);
    f.finishQuestion();
    expect(f.lastQuestion).toMatchObject({ watermark: 3, clean: 1 });
    f.ask(300);
    f.finishQuestion();
    expect(f.lastQuestion.clean).toBe(2);
    sendN(f, 3, 1);
    f.ask(400);
    f.finishQuestion();
    expect(f.lastQuestion).toMatchObject({ watermark: 4, clean: 1 }); // a new tail starts over
  });

  test("a named member that stops reporting stalls and stops counting; older members always count", () => {
    const f = big(100);
    sendN(f, 0, 20, 100, 0);
    f.ask(0);
    f.report("frozen", 5, 10, false);
    f.finishQuestion();
    expect(f.named).toEqual(["frozen"]);
    f.report("old", 8, 20); // steady: an older member
    expect(f.floor()).toBe(5);
    expect(f.checkStalls(1009)).toEqual([]);
    expect(f.checkStalls(1010)).toEqual(["frozen"]);
    expect(f.floor()).toBe(8);
    f.ask(1100);
    f.finishQuestion();
    expect(f.named).toEqual([]); // a lagging member is not named again
    expect(f.floor()).toBe(8); // the older member still counts
  });
});

describe("FlowControl when the room shrinks to a small one", () => {
  test("members that only answered questions are forgotten, not stalled on their old reports", () => {
    const f = new FlowControl({ windowFragments: 100, windowBytes: 1e9, stallMs: 1000 });
    f.small = false;
    sendN(f, 0, 10, 100, 0);
    f.ask(0);
    f.report("asked", 3, 1, false);
    f.report("old", 10, 1); // an older member: reports on every progress
    f.finishQuestion();
    sendN(f, 10, 50, 100, 5000);
    f.small = true;
    expect(f.hasReported("asked")).toBe(false);
    expect(f.hasReported("old")).toBe(true);
    expect(f.floor()).toBe(10);
    expect(f.checkStalls(5999)).toEqual([]);
  });
});
