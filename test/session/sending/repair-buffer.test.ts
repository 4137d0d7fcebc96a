import { describe, expect, test } from "bun:test";
import { encodingLength, type MessageFrame } from "../../../src/protocol/index.ts";
import { RepairBuffer } from "../../../src/session/sending/repair-buffer.ts";
import { messageFrame } from "../../helpers/frames.ts";

const msg = (seq: number, fragIndex = 0, fragCount = 1, text = "hi"): MessageFrame =>
  messageFrame(seq, { fragIndex, fragCount, payload: new TextEncoder().encode(text) });

/** Adds `n` one-fragment messages from `start`. */
function fill(b: RepairBuffer, start: number, n: number, text = "hi"): void {
  for (let i = 0; i < n; i++) b.add(msg((start + i) >>> 0, 0, 1, text));
}

describe("RepairBuffer", () => {
  test("keeps what was sent, by seq", () => {
    const b = new RepairBuffer();
    expect(b.tail).toBeUndefined();
    expect(b.get(0)).toBeUndefined();
    fill(b, 0, 3);
    expect(b.get(1)?.seq).toBe(1);
    expect(b.get(3)).toBeUndefined();
    expect(b.tail).toBe(2);
    expect(b.oldest).toBe(0);
    expect(b.size).toBe(3);
    expect(b.bytes).toBe(3 * encodingLength(msg(0)));
  });

  test("seqs must be consecutive", () => {
    const b = new RepairBuffer();
    fill(b, 5, 1);
    expect(() => b.add(msg(7))).toThrow(RangeError);
    expect(() => b.add(msg(5))).toThrow(RangeError);
  });

  test("bounded by count: the oldest go first", () => {
    const b = new RepairBuffer({ maxCount: 4 });
    fill(b, 0, 10);
    expect(b.size).toBe(4);
    expect(b.oldest).toBe(6);
    expect(b.get(5)).toBeUndefined();
    expect(b.get(9)?.seq).toBe(9);
  });

  test("bounded by bytes", () => {
    const one = encodingLength(msg(0, 0, 1, "x".repeat(1000)));
    const b = new RepairBuffer({ maxBytes: one * 3 + 10 });
    fill(b, 0, 10, "x".repeat(1000));
    expect(b.size).toBe(3);
    expect(b.bytes).toBeLessThanOrEqual(one * 3 + 10);
    expect(b.oldest).toBe(7);
  });

  test("eviction never leaves the later fragments of a message without its first", () => {
    const b = new RepairBuffer({ maxCount: 4 });
    fill(b, 0, 2);
    for (let i = 0; i < 3; i++) b.add(msg(2 + i, i, 3)); // seqs 2, 3, 4 = one message
    expect(b.oldest).toBe(1);
    b.add(msg(5)); // must drop 1, then would keep 2..5: fine
    expect(b.oldest).toBe(2);
    b.add(msg(6)); // drops 2 (fragment 0): 3 and 4 are useless and go too
    expect(b.oldest).toBe(5);
    expect(b.size).toBe(2);
  });

  test("classify: held seqs, gone ranges, never-sent seqs ignored", () => {
    const b = new RepairBuffer({ maxCount: 5 });
    fill(b, 0, 10); // holds 5..9; 0..4 gone
    const c = b.classify([
      { start: 3, count: 4 }, // 3, 4 gone; 5, 6 held
      { start: 8, count: 5 }, // 8, 9 held; 10..12 never sent
      { start: 6, count: 1 }, // duplicate ask
      { start: 0xfffffff0, count: 3 }, // before our first seq: never sent
    ]);
    expect(c.held).toEqual([5, 6, 8, 9]);
    expect(c.gone).toEqual([{ start: 3, count: 2 }]);
    expect(b.missing([{ start: 0, count: 20 }])).toEqual([{ start: 0, count: 5 }]);
    expect(new RepairBuffer().classify([{ start: 0, count: 3 }])).toEqual({
      held: [],
      gone: [],
      unexamined: 0,
    });
  });

  test("works across the 2^32 wrap", () => {
    const b = new RepairBuffer({ maxCount: 4 });
    fill(b, 0xfffffffc, 6); // ...fc fd fe ff 0 1 -> holds fe ff 0 1
    expect(b.tail).toBe(1);
    expect(b.oldest).toBe(0xfffffffe);
    expect(b.get(0)?.seq).toBe(0);
    expect(b.get(0xffffffff)?.seq).toBe(0xffffffff);
    const c = b.classify([{ start: 0xfffffffb, count: 10 }]);
    expect(c.held).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    expect(c.gone).toEqual([{ start: 0xfffffffc, count: 2 }]);
  });

  test("recent(n): the last n complete messages, oldest first", () => {
    const b = new RepairBuffer({ maxCount: 6 });
    b.add(msg(0, 0, 2));
    b.add(msg(1, 1, 2));
    b.add(msg(2));
    b.add(msg(3, 0, 3));
    b.add(msg(4, 1, 3));
    b.add(msg(5, 2, 3));
    expect(b.recent(2).map((f) => f.seq)).toEqual([2, 3, 4, 5]);
    expect(b.recent(10).map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    b.add(msg(6)); // drops 0 and then 1 (its first fragment is gone)
    expect(b.recent(10).map((f) => f.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(b.recent(0)).toEqual([]);
  });

  test("stays compact over a long run", () => {
    const b = new RepairBuffer({ maxCount: 100 });
    fill(b, 0, 50_000);
    expect(b.size).toBe(100);
    expect(b.get(49_999)?.seq).toBe(49_999);
    expect(b.get(49_900)?.seq).toBe(49_900);
    expect(b.get(49_899)).toBeUndefined();
  });
});
