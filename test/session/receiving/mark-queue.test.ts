import { expect, test } from "bun:test";
import { MarkQueue } from "../../../src/session/receiving/mark-queue.ts";

test("marks come out oldest first up to the consumed position, across growth and wrap-around", () => {
  const q = new MarkQueue<string>();
  const out: [string, number][] = [];
  const take = (c: number) => q.take(c, (s, n) => out.push([s, n]));
  let pos = 0;
  // 5,000 marks through a ring of 1,024, taken in uneven steps.
  for (let i = 0; i < 5000; i++) {
    q.push(++pos, i % 2 ? "a" : "b", i);
    if (i % 700 === 699) take(pos - 300);
  }
  take(pos);
  expect(q.length).toBe(0);
  expect(out.map(([, n]) => n)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  expect(out.slice(0, 3)).toEqual([
    ["b", 0],
    ["a", 1],
    ["b", 2],
  ]);
});

test("the same stream at the same position updates its mark; nothing past `consumed` comes out", () => {
  const q = new MarkQueue<string>();
  q.push(1, "a", 10);
  q.push(1, "a", 12);
  q.push(1, "b", 5);
  q.push(2, "a", 13);
  const out: [string, number][] = [];
  q.take(1, (s, n) => out.push([s, n]));
  expect(out).toEqual([
    ["a", 12],
    ["b", 5],
  ]);
  expect(q.length).toBe(1);
});
