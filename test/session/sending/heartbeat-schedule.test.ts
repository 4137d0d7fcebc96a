import { describe, expect, test } from "bun:test";
import {
  HeartbeatSchedule,
  heartbeatDelay,
} from "../../../src/session/sending/heartbeat-schedule.ts";

/** Heartbeat times after a send at t = 0, following the schedule. */
function timesAfterSend(n: number, opts = {}): number[] {
  const h = new HeartbeatSchedule(0, opts);
  h.onMessageSent(0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = h.nextAt();
    out.push(t);
    h.onHeartbeatSent(t);
  }
  return out;
}

describe("HeartbeatSchedule", () => {
  test("after a send: 100 ms x4, then doubling up to the ambient interval", () => {
    expect(timesAfterSend(10)).toEqual([100, 200, 300, 400, 600, 1000, 1800, 3400, 5400, 7400]);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => heartbeatDelay(k))).toEqual([
      100, 100, 100, 100, 200, 400, 800, 1600, 2000,
    ]);
  });

  test("configurable ambient interval", () => {
    expect(timesAfterSend(7, { ambientMs: 500 })).toEqual([100, 200, 300, 400, 600, 1000, 1500]);
  });

  test("idle: ambient interval from construction", () => {
    const h = new HeartbeatSchedule(1000);
    expect(h.nextAt()).toBe(3000);
  });

  test("start(): the quick phase doubles as HELLO repeats", () => {
    const h = new HeartbeatSchedule(0);
    h.start(0);
    expect(h.nextAt()).toBe(100);
  });

  test("a burst pushes the quick phase back, but never past one ambient interval", () => {
    const h = new HeartbeatSchedule(0);
    h.onHeartbeatSent(0);
    for (let t = 0; t <= 5000; t += 50) {
      h.onMessageSent(t);
      expect(h.nextAt()).toBeLessThanOrEqual(2000);
      if (h.nextAt() <= t + 50) break;
    }
    expect(h.nextAt()).toBe(2000);
  });

  test("a new send during the back-off restarts the quick phase", () => {
    const h = new HeartbeatSchedule(0);
    h.onMessageSent(0);
    for (let i = 0; i < 6; i++) h.onHeartbeatSent(h.nextAt()); // up to t = 1000
    h.onMessageSent(1100);
    expect(h.nextAt()).toBe(1200);
  });

  test("soon(): a nick change or a newcomer's HELLO brings the next heartbeat forward", () => {
    const h = new HeartbeatSchedule(0);
    h.soon(50);
    expect(h.nextAt()).toBe(50);
    h.soon(500);
    expect(h.nextAt()).toBe(50);
  });
});

describe("HeartbeatSchedule: an ambient interval that grows with the room", () => {
  test("a longer ambient interval: later gaps follow it, the quick phase does not", () => {
    const h = new HeartbeatSchedule(0);
    h.onHeartbeatSent(0);
    h.setAmbient(20_000);
    expect(h.ambientMs).toBe(20_000);
    let t = 0;
    const gaps: number[] = [];
    for (let i = 0; i < 14; i++) {
      const at = h.nextAt();
      gaps.push(at - t);
      t = at;
      h.onHeartbeatSent(t);
    }
    expect(gaps.slice(-2)).toEqual([20_000, 20_000]);
    h.onMessageSent(t + 1);
    expect(h.nextAt()).toBe(t + 101); // quick heartbeats after a message stay as they are
  });

  test("a shorter one (an older member came) brings a heartbeat due later forward", () => {
    const h = new HeartbeatSchedule(0, { ambientMs: 20_000 });
    h.onHeartbeatSent(0);
    for (let i = 0; i < 10; i++) h.onHeartbeatSent(h.nextAt());
    const last = h.nextAt() - 20_000;
    h.setAmbient(2000);
    expect(h.nextAt()).toBe(last + 2000);
  });
});
