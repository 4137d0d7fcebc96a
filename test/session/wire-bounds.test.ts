/**
 * Values the wire sets, bounded before use, on the real Session (virtual clock, in-memory hub):
 * a REPORT from an instance that never announced itself does not enter flow control; a tail
 * may not claim more than MAX_TAIL_LEAD seqs beyond what we have; REPORTs keep reaching every
 * sender however many there are (not only the first 32).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { decode, encode, type Frame } from "../../src/protocol/index.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession, type SessionOptions } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

const sessions: RoomSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

function setup() {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  let n = 0;
  const member = (nick: string, extra: Partial<SessionOptions> = {}) => {
    n++;
    const t = hub.attach(`198.18.${n >> 8}.${(n & 255) + 1}`);
    const s = createSession({
      transport: t,
      encoding: "utf8",
      raw: false,
      nick,
      scheduler: vc,
      heartbeatMs: 500,
      ...extra,
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    sessions.push(s);
    return { s, t, events };
  };
  const evil = hub.attach("198.18.0.66");
  const sendEvil = (f: Frame) => evil.send(encode(f));
  const until = async (cond: () => boolean, ms: number) => {
    if (!(await vc.runUntilTrue(cond, ms))) throw new Error("condition not met in time");
  };
  return { vc, hub, member, evil, sendEvil, until };
}

const warnings = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "warning" ? [e.text] : []));

describe("a REPORT from an instance that never announced itself", () => {
  test("does not hold the window, is not waited for, and is not warned about", async () => {
    const { vc, member, sendEvil } = setup();
    const alice = member("alice", { window: { fragments: 8 } });
    await alice.s.start();
    await vc.run(100);
    const ghost = "ee00000000000001";
    // Reports "next 0" for alice's conversation, again and again, and never says hello.
    const report = () =>
      sendEvil({
        type: "stream_report",
        id: ghost,
        seq: 0,
        entries: [{ target: alice.s.id, stream: 0, next: 0 }],
      });
    await report();
    await vc.run(10);
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 50; i++) {
        await alice.s.send(`line ${i}`);
        sent++;
        await report();
      }
    })();
    await vc.runUntilTrue(() => sent === 50, 20_000);
    await sending;
    expect(sent).toBe(50);
    expect(alice.s.stats.flowWaits).toBe(0);
    expect(alice.s.stats.reportsIgnored).toBeGreaterThan(0);
    await vc.run(10_000);
    expect(warnings(alice.events).filter((w) => w.includes("keeping up"))).toEqual([]);
    // The drain of a pipe does not wait for it either.
    expect(await alice.s.drain(5000)).toEqual({ behind: [] });
  });
});
