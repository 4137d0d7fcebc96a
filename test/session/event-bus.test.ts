import { expect, test } from "bun:test";
import { EventBus } from "../../src/session/event-bus.ts";
import type { SessionEvent } from "../../src/session/events.ts";

const warning = (text: string): SessionEvent => ({ type: "warning", time: new Date(0), text });

test("events emitted before anyone listens go to the first listener, in order, then live", () => {
  const bus = new EventBus();
  bus.emit(warning("a"));
  bus.emit(warning("b"));
  const first: string[] = [];
  const second: string[] = [];
  bus.on((e) => first.push(e.type === "warning" ? e.text : ""));
  bus.on((e) => second.push(e.type === "warning" ? e.text : ""));
  bus.emit(warning("c"));
  expect(first).toEqual(["a", "b", "c"]);
  expect(second).toEqual(["c"]);
});

test("what waits for the first listener is bounded", () => {
  const bus = new EventBus();
  for (let i = 0; i < 5000; i++) bus.emit(warning(String(i)));
  const got: SessionEvent[] = [];
  bus.on((e) => got.push(e));
  expect(got.length).toBe(1024);
});

test("a listener that throws does not stop the others; each failure is handed on", () => {
  const failures: unknown[] = [];
  const bus = new EventBus((err) => failures.push(err));
  const got: string[] = [];
  bus.on(() => {
    throw new Error("boom");
  });
  bus.on((e) => got.push(e.type === "warning" ? e.text : ""));
  expect(() => bus.emit(warning("a"))).not.toThrow();
  bus.emit(warning("b"));
  expect(got).toEqual(["a", "b"]);
  expect(failures).toHaveLength(2);
});
