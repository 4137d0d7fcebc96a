import { describe, expect, test } from "bun:test";
import {
  BACKLOG_EVENTS,
  EventHub,
  MAX_UNCONSUMED,
  type SubscribeOptions,
} from "../../src/room/event-hub.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { waitFor } from "../helpers/events.ts";

const T = new Date(0);
const msg = (n: number): SessionEvent => ({
  type: "message",
  time: T,
  from: "10.0.0.2:1",
  text: `m${n}`,
});

/** What a subscriber got: event text (or "warning: …") and position. */
type Got = [string, number];
const label = (e: SessionEvent) =>
  e.type === "message" ? e.text : e.type === "warning" ? `warning: ${e.text}` : e.type;

function listen(hub: EventHub, opts: SubscribeOptions) {
  const got: Got[] = [];
  const sub = hub.subscribe((e, position) => void got.push([label(e), position]), opts);
  return { got, sub, texts: () => got.map(([t]) => t) };
}

/** The backlog is handed over from the next microtask on. */
const turn = () => new Promise<void>((r) => queueMicrotask(r));

const emitMany = (hub: EventHub, from: number, to: number) => {
  for (let i = from; i <= to; i++) hub.emit(msg(i));
};

describe("every subscriber gets every event from the first one on", () => {
  test("a late subscriber gets the backlog first, then live events, with positions", async () => {
    const hub = new EventHub();
    const early = listen(hub, { name: "early" });
    emitMany(hub, 1, 10);
    const late = listen(hub, { name: "late" });
    expect(late.got).toEqual([]); // not inside subscribe(): it has its Subscription first
    await turn();
    hub.emit(msg(11));
    const all = Array.from({ length: 11 }, (_, i): Got => [`m${i + 1}`, i + 1]);
    expect(late.got).toEqual(all);
    expect(early.got).toEqual(all);
    expect(hub.emitted).toBe(11);
  });

  test("events emitted before the backlog is handed over come after it, in order", async () => {
    const hub = new EventHub();
    emitMany(hub, 1, 3);
    const late = listen(hub, { name: "late" });
    emitMany(hub, 4, 5);
    await turn();
    expect(late.texts()).toEqual(["m1", "m2", "m3", "m4", "m5"]);
  });

  test("beyond the bound: the last BACKLOG_EVENTS, after a warning saying how many are missing", async () => {
    const hub = new EventHub();
    const extra = 476;
    emitMany(hub, 1, BACKLOG_EVENTS + extra);
    const late = listen(hub, { name: "late" });
    await turn();
    expect(late.got[0]).toEqual([
      `warning: ${extra} earlier events are not shown: the room keeps the last ${BACKLOG_EVENTS}`,
      extra,
    ]);
    expect(late.got.slice(1)).toEqual(
      Array.from({ length: BACKLOG_EVENTS }, (_, i): Got => [`m${extra + 1 + i}`, extra + 1 + i]),
    );
    expect(late.sub.missed).toBe(extra);
  });

  test("a subscriber that subscribes from inside a listener gets each event once", async () => {
    const hub = new EventHub();
    let inner: ReturnType<typeof listen> | undefined;
    hub.subscribe(
      (e) => {
        if (label(e) === "m2") inner = listen(hub, { name: "inner" });
      },
      { name: "outer" },
    );
    await turn();
    emitMany(hub, 1, 4);
    await turn();
    expect(inner?.texts()).toEqual(["m1", "m2", "m3", "m4"]);
  });

  test("an event emitted from inside a listener comes after the one being handed out, for everyone", async () => {
    const hub = new EventHub();
    let once = true;
    const first = listen(hub, { name: "first" });
    hub.subscribe(
      (e) => {
        if (once && label(e) === "m1") {
          once = false;
          hub.emit(msg(2));
        }
      },
      { name: "echo" },
    );
    const last = listen(hub, { name: "last" });
    await turn();
    hub.emit(msg(1));
    expect(first.got).toEqual([
      ["m1", 1],
      ["m2", 2],
    ]);
    expect(last.got).toEqual(first.got);
  });
});

describe("paced subscribers", () => {
  test("consumed = emitted with none; else the lowest acknowledged position; onConsumed fires", async () => {
    const hub = new EventHub();
    let calls = 0;
    hub.onConsumed(() => calls++);
    const log = listen(hub, { name: "the transcript" }); // unpaced
    emitMany(hub, 1, 3);
    expect(hub.consumed).toBe(3);
    const a = listen(hub, { name: "a", paced: true });
    const b = listen(hub, { name: "b", paced: true });
    await turn();
    emitMany(hub, 4, 8);
    expect(hub.consumed).toBe(3); // nothing acknowledged past what was done before they came
    a.sub.consumed(6);
    b.sub.consumed(5);
    expect(hub.consumed).toBe(5);
    await waitFor(() => calls >= 2, 1000, "onConsumed after the acknowledgements");
    const before = calls;
    b.sub.consumed(8);
    expect(hub.consumed).toBe(6);
    a.sub.consumed(4); // going back is ignored
    expect(hub.consumed).toBe(6);
    a.sub.consumed(99); // never more than emitted
    expect(hub.consumed).toBe(8);
    await waitFor(() => calls > before, 1000, "onConsumed once more");
    // Closing the slowest lets the room on.
    emitMany(hub, 9, 10);
    b.sub.consumed(10);
    expect(hub.consumed).toBe(8);
    a.sub.close();
    expect(hub.consumed).toBe(10);
    expect(log.got).toHaveLength(10);
  });

  test("onConsumed is called at most once per turn, only when consumed grew", async () => {
    const hub = new EventHub();
    let calls = 0;
    hub.onConsumed(() => calls++);
    const p = listen(hub, { name: "p", paced: true });
    await turn();
    emitMany(hub, 1, 100);
    for (let i = 1; i <= 100; i++) p.sub.consumed(i);
    await turn();
    await turn();
    expect(calls).toBe(1);
    p.sub.consumed(100);
    await Bun.sleep(5);
    expect(calls).toBe(1);
  });

  test("a late paced subscriber never lowers consumed", async () => {
    const hub = new EventHub();
    emitMany(hub, 1, 5);
    const late = listen(hub, { name: "late", paced: true });
    await turn();
    expect(late.got).toHaveLength(5);
    expect(hub.consumed).toBe(5);
    hub.emit(msg(6));
    expect(hub.consumed).toBe(5);
    late.sub.consumed(6);
    expect(hub.consumed).toBe(6);
  });
});

describe("a paced subscriber that does not keep up", () => {
  test("bounded: stops getting events past the limit, no longer holds the room back, then one warning and live events", async () => {
    const max = 10;
    const hub = new EventHub({ maxUnconsumed: max });
    const slow = listen(hub, { name: "stdout", paced: true });
    const log = listen(hub, { name: "the transcript" });
    await turn();
    emitMany(hub, 1, max);
    expect(slow.got).toHaveLength(max);
    expect(hub.consumed).toBe(0);
    hub.emit(msg(11)); // one more than it may hold
    expect(slow.got).toHaveLength(max);
    expect(hub.consumed).toBe(11); // counted as consumed for it
    emitMany(hub, 12, 16);
    expect(slow.got).toHaveLength(max);
    expect(hub.consumed).toBe(16);
    slow.sub.consumed(4); // 6 behind: not yet under half the limit
    hub.emit(msg(17));
    expect(slow.got).toHaveLength(max);
    slow.sub.consumed(6); // 4 behind: back under half
    expect(slow.got.slice(max)).toEqual([
      ["warning: 7 events were not shown: stdout did not keep up", 17],
    ]);
    hub.emit(msg(18));
    expect(slow.got.at(-1)).toEqual(["m18", 18]);
    expect(slow.sub.missed).toBe(7);
    expect(hub.consumed).toBe(17); // paced again: m18 is not acknowledged yet
    slow.sub.consumed(18);
    expect(hub.consumed).toBe(18);
    // The unpaced transcript got everything, and no warning about stdout.
    expect(log.texts()).toEqual(Array.from({ length: 18 }, (_, i) => `m${i + 1}`));
  });

  test(`the limit is MAX_UNCONSUMED (${MAX_UNCONSUMED}) events`, async () => {
    const hub = new EventHub();
    let got = 0;
    hub.subscribe(() => void got++, { name: "stdout", paced: true });
    await turn();
    emitMany(hub, 1, MAX_UNCONSUMED);
    expect(got).toBe(MAX_UNCONSUMED);
    expect(hub.consumed).toBe(0);
    emitMany(hub, MAX_UNCONSUMED + 1, MAX_UNCONSUMED + 3);
    expect(got).toBe(MAX_UNCONSUMED);
    expect(hub.consumed).toBe(MAX_UNCONSUMED + 3);
  });
});

describe("a listener that throws", () => {
  test("is cut off and reported once; the others get every event", async () => {
    const hub = new EventHub();
    const a = listen(hub, { name: "a" });
    const failures: unknown[] = [];
    let calls = 0;
    hub.subscribe(
      (e) => {
        calls++;
        if (label(e) !== "m1") throw new Error("disk on fire");
      },
      { name: "the transcript", paced: true, onFailure: (err) => failures.push(err) },
    );
    const c = listen(hub, { name: "c", paced: true });
    await turn();
    emitMany(hub, 1, 4);
    const expected: Got[] = [
      ["m1", 1],
      ["m2", 2],
      ["warning: the transcript failed: disk on fire; it gets no more events", 2],
      ["m3", 3],
      ["m4", 4],
    ];
    expect(a.got).toEqual(expected);
    expect(c.got).toEqual(expected);
    expect(calls).toBe(2);
    expect(failures).toHaveLength(1);
    expect((failures[0] as Error).message).toBe("disk on fire");
    // The failed paced subscriber no longer holds the room back.
    c.sub.consumed(4);
    expect(hub.consumed).toBe(4);
    // One that comes later hears of it too.
    const late = listen(hub, { name: "late" });
    await turn();
    expect(late.got).toEqual(expected);
  });

  test("a warning from a client goes to the others only, and to later subscribers", async () => {
    const hub = new EventHub();
    const log = listen(hub, { name: "the transcript" });
    const chat = listen(hub, { name: "the terminal" });
    await turn();
    hub.emit(msg(1));
    hub.warn("cannot write the log", { except: log.sub });
    hub.emit(msg(2));
    expect(log.texts()).toEqual(["m1", "m2"]);
    expect(chat.got).toEqual([
      ["m1", 1],
      ["warning: cannot write the log", 1],
      ["m2", 2],
    ]);
    expect(hub.emitted).toBe(2);
    const late = listen(hub, { name: "late" });
    await turn();
    expect(late.got).toEqual(chat.got);
  });

  test("a warning raised inside a listener comes after the event being handed out", async () => {
    const hub = new EventHub();
    const log = hub.subscribe(
      (e) => {
        if (label(e) === "m1") hub.warn("log full", { except: log });
      },
      { name: "the transcript" },
    );
    const chat = listen(hub, { name: "the terminal" });
    await turn();
    emitMany(hub, 1, 2);
    expect(chat.texts()).toEqual(["m1", "warning: log full", "m2"]);
  });
});
