/**
 * The stall rule (PROTOCOL.md §8) on the real Session, virtual clock: a member is dropped from
 * the wait only after it has been behind for the stall time (3 heartbeats) without progress —
 * counted from when it fell behind, never from its last report. So after a pause of any length
 * a healthy member is not said to be "not keeping up" (nor then "caught up"), while a member
 * whose reader froze is still dropped from the wait after the same stall time.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { ReaderSink } from "../helpers/reader-sink.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

/** The default heartbeat (2 s): the stall time is 3 heartbeats. */
const HEARTBEAT_MS = 2000;
const STALL_MS = 3 * HEARTBEAT_MS;

/** A reader that takes every event at once (a microtask later), until it freezes. */
class Reader extends ReaderSink {
  frozen = false;
  override emit(e: SessionEvent): void {
    super.emit(e);
    if (!this.frozen) queueMicrotask(() => this.read());
  }
}

const sessions: RoomSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

async function setup() {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  const bobReader = new Reader();
  const bob = createSession({
    transport: hub.attach("198.18.0.2"),
    encoding: "utf8",
    raw: false,
    nick: "bob",
    scheduler: vc,
    heartbeatMs: HEARTBEAT_MS,
    events: bobReader,
  });
  const alice = createSession({
    transport: hub.attach("198.18.0.1"),
    encoding: "utf8",
    raw: false,
    nick: "alice",
    scheduler: vc,
    heartbeatMs: HEARTBEAT_MS,
  });
  sessions.push(alice, bob);
  /** alice's warnings, with the virtual time of each. */
  const warnings: { at: number; text: string }[] = [];
  alice.on((e) => {
    if (e.type === "warning") warnings.push({ at: vc.now(), text: e.text });
  });
  await bob.start();
  await alice.start();
  const bobHas = (text: string) =>
    bobReader.events.some((e) => e.type === "message" && e.text === text);
  const until = async (cond: () => boolean, ms: number) => {
    if (!(await vc.runUntilTrue(cond, ms))) throw new Error("condition not met in time");
  };
  await until(() => alice.members().some((m) => m.nick === "bob"), 3000);
  await until(() => bob.members().some((m) => m.nick === "alice"), 3000);
  return { vc, alice, bob, bobReader, warnings, bobHas, until };
}

const flowWarnings = (w: { text: string }[]) =>
  w.filter((x) => /not keeping up|caught up/.test(x.text)).map((x) => x.text);

describe("stall clock from falling behind", () => {
  for (const pauseMs of [8_000, 9_000, 60_000]) {
    test(`a ${pauseMs / 1000} s pause between lines says nothing about a healthy member`, async () => {
      const r = await setup();
      await r.alice.send("one");
      await r.until(() => r.bobHas("one"), 1000);
      await r.vc.run(pauseMs);
      await r.alice.send("two");
      await r.until(() => r.bobHas("two"), 1000);
      // well past the stall time after the second line
      await r.vc.run(STALL_MS * 2);
      await r.alice.send("three");
      await r.until(() => r.bobHas("three"), 1000);
      await r.vc.run(STALL_MS * 2);
      expect(flowWarnings(r.warnings)).toEqual([]);
    });
  }

  test("a frozen member is still dropped from the wait after the stall time, counted from when it fell behind", async () => {
    const r = await setup();
    await r.alice.send("one");
    await r.until(() => r.bobHas("one"), 1000);
    await r.vc.run(9_000); // a pause: bob is up to date all along
    r.bobReader.frozen = true; // bob's reader stops reading
    const sentAt = r.vc.now();
    await r.alice.send("two");
    await r.until(() => flowWarnings(r.warnings).length > 0, STALL_MS * 3);
    const w = r.warnings.find((x) => /not keeping up/.test(x.text));
    expect(w?.text).toContain("bob is not keeping up");
    const after = (w?.at ?? 0) - sentAt;
    expect(after).toBeGreaterThanOrEqual(STALL_MS);
    expect(after).toBeLessThan(STALL_MS + 100);
  });
});
