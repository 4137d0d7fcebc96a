/**
 * An event listener that throws, on the real Session (virtual clock, in-memory hub): it does not
 * escape into the datagram handler (the member keeps receiving), the other listeners still get
 * every event, and it is warned about once, however often it throws (the rest are counted).
 */
import { afterEach, expect, test } from "bun:test";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

const sessions: RoomSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

for (const raw of [false, true]) {
  test(`a throwing listener is isolated and warned about once (${raw ? "raw" : "framed"} room)`, async () => {
    const vc = new VirtualClock(1000);
    const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
    const make = (nick: string, address: string) => {
      const s = createSession({
        transport: hub.attach(address, { raw }),
        encoding: "utf8",
        raw,
        nick,
        scheduler: vc,
        heartbeatMs: 500,
      });
      sessions.push(s);
      return s;
    };
    const bob = make("bob", "198.18.0.2");
    const alice = make("alice", "198.18.0.1");
    let thrown = 0;
    bob.on(() => {
      thrown++;
      throw new Error("listener bug");
    });
    const events: SessionEvent[] = [];
    bob.on((e) => events.push(e));
    await bob.start();
    await alice.start();
    for (let i = 0; i < 5; i++) await alice.send(`line ${i}`);
    const texts = () => events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));
    // Without isolation, the listener's throw escapes from bob's datagram handler (here: out
    // of the virtual clock's run).
    const ok = await vc.runUntilTrue(() => texts().length === 5, 3000);
    expect(ok).toBe(true);
    expect(texts()).toEqual(["line 0", "line 1", "line 2", "line 3", "line 4"]);
    await vc.run(1000);
    const warnings = events.flatMap((e) => (e.type === "warning" ? [e.text] : []));
    expect(warnings.filter((w) => w.includes("event listener failed"))).toHaveLength(1);
    expect(warnings[0]).toContain("listener bug");
    expect(bob.stats.listenerErrors).toBe(thrown);
    expect(thrown).toBeGreaterThan(5);
  });
}
