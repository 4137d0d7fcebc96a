import { expect, test } from "bun:test";
import { DeadlineHeap } from "../../src/session/deadline-heap.ts";
import { mulberry32 } from "../helpers/virtual-clock.ts";

test("keys come out earliest deadline first, each once, at the deadline last set", () => {
  const h = new DeadlineHeap<string>();
  h.set("a", 30);
  h.set("b", 10);
  h.set("c", 20);
  h.set("a", 5); // moved earlier
  h.set("b", 40); // moved later
  h.set("c", undefined); // no timer any more
  expect(h.peek()).toBe(5);
  expect(h.takeDue(4)).toBeUndefined();
  expect(h.takeDue(100)).toBe("a");
  expect(h.takeDue(39)).toBeUndefined();
  expect(h.peek()).toBe(40);
  expect(h.takeDue(40)).toBe("b");
  expect(h.takeDue(1e9)).toBeUndefined();
  expect(h.size).toBe(0);
});

test("matches a plain scan through 20,000 random moves, and stale entries do not pile up", () => {
  const rnd = mulberry32(3);
  const h = new DeadlineHeap<number>();
  const want = new Map<number, number>();
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    const k = Math.floor(rnd() * 300);
    if (rnd() < 0.1) {
      h.delete(k);
      want.delete(k);
    } else {
      const t = now + Math.floor(rnd() * 1000);
      h.set(k, t);
      want.set(k, t);
    }
    if (step % 50 === 0) {
      now += 40;
      const got: number[] = [];
      for (let k2 = h.takeDue(now); k2 !== undefined; k2 = h.takeDue(now)) got.push(k2);
      const due = [...want].filter(([, t]) => t <= now);
      expect(got.sort((a, b) => a - b)).toEqual(due.map(([key]) => key).sort((a, b) => a - b));
      for (const [key] of due) want.delete(key);
      const min = Math.min(...want.values());
      expect(h.peek()).toBe(want.size ? min : undefined);
    }
  }
  expect(h.size).toBe(want.size);
  // entries kept: at most about twice the live keys (rebuilt past that)
  expect(h.stored).toBeLessThanOrEqual(2 * 300 + 64);
});
