/**
 * What a hostile neighbour's datagrams can make a member do, on the real Session (virtual
 * clock, in-memory hub): a made-up member cannot make us resend our history by NACK, and a
 * flood of HISTORY_REQs costs one bounded answer.
 */
import { describe, expect, test } from "bun:test";
import { decode, encode, type Frame } from "../../src/protocol/index.ts";
import { HISTORY_ANSWER_MAX } from "../../src/session/history-responder.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { VirtualClock } from "../helpers/virtual-clock.ts";

function setup() {
  const vc = new VirtualClock(1000);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
  const t = hub.attach("198.18.0.1");
  const alice = createSession({
    transport: t,
    encoding: "utf8",
    raw: false,
    nick: "alice",
    scheduler: vc,
    heartbeatMs: 500,
  });
  const evil = hub.attach("198.18.0.66");
  const sendEvil = (f: Frame) => evil.send(encode(f));
  /** Bytes alice sent of one frame type since `from` (index into hub.sent). */
  const sentBy = (from: number, type: Frame["type"], pred: (f: Frame) => boolean = () => true) =>
    hub.sent
      .slice(from)
      .filter((d) => d.from === t)
      .map((d) => decode(d.data))
      .filter((f) => f.type === type && pred(f));
  return { vc, hub, alice, t, evil, sendEvil, sentBy };
}

async function chat(alice: RoomSession, vc: VirtualClock, n: number) {
  await alice.start();
  for (let i = 0; i < n; i++) await alice.send(`line ${i} ${"x".repeat(100)}`);
  await vc.run(500);
}

const fakeId = (i: number) => `ee${i.toString(16).padStart(14, "0")}`;

describe("a hostile neighbour on an open room", () => {
  test("an instance announced now cannot make us resend what we sent long before it appeared", async () => {
    const { vc, alice, sendEvil, sentBy, hub } = setup();
    await chat(alice, vc, 200);
    await vc.run(10_000); // the chat is 10 s old
    const before = hub.sent.length;
    let asked = 0;
    for (let i = 0; i < 25; i++) {
      const id = fakeId(i);
      await sendEvil({ type: "hello", id, seq: 0xffffffff, nick: `m${i}`, age: 0 });
      const nack = {
        type: "nack" as const,
        id,
        seq: 0xffffffff,
        target: alice.id,
        ranges: Array.from({ length: 32 }, (_, k) => ({ start: k * 65535, count: 65535 })),
      };
      asked += encode(nack).length + 31;
      await sendEvil(nack);
    }
    await vc.run(2000);
    const repairs = sentBy(before, "message", (f) => f.type === "message" && f.repair);
    expect(repairs).toHaveLength(0);
    expect(alice.stats.repairsRefused).toBeGreaterThanOrEqual(25 * 200);
    console.log(`NACK flood from 25 fresh ids (${asked} B): ${repairs.length} repairs`);
  });

  test("a member that was there from the start still gets its repairs", async () => {
    const { vc, alice, hub, sendEvil, sentBy } = setup();
    // "bob" joined before alice started: it may NACK from seq 0.
    await sendEvil({ type: "hello", id: fakeId(99), seq: 0xffffffff, nick: "bob", age: 0 });
    await chat(alice, vc, 20);
    await vc.run(1000); // (bob sends no heartbeats here: within its 1.5 s timeout)
    const before = hub.sent.length;
    await sendEvil({
      type: "nack",
      id: fakeId(99),
      seq: 0xffffffff,
      target: alice.id,
      ranges: [{ start: 0, count: 5 }],
    });
    await vc.run(500);
    expect(sentBy(before, "message", (f) => f.type === "message" && f.repair)).toHaveLength(5);
  });

  test("a HISTORY_REQ flood costs one answer per HISTORY_ANSWER_GAP_MS of at most HISTORY_ANSWER_MAX messages", async () => {
    const { vc, alice, sendEvil, sentBy, hub } = setup();
    await chat(alice, vc, 200);
    const before = hub.sent.length;
    let asked = 0;
    for (let i = 0; i < 100; i++) {
      const f = {
        type: "history_req" as const,
        id: fakeId(i),
        seq: 0xffffffff,
        count: 65535,
        requestId: i,
      };
      asked += encode(f).length;
      await sendEvil(f);
      await vc.run(20); // 100 requests over 2 s
    }
    await vc.run(1000);
    const answers = sentBy(before, "message", (f) => f.type === "message" && f.history);
    const bytes = hub.sent
      .slice(before)
      .filter((d) => d.from.address === "198.18.0.1")
      .reduce((a, d) => a + d.data.length, 0);
    console.log(
      `HISTORY_REQ flood: ${asked} B asked, ${answers.length} answer frames, ${bytes} B sent: x${(bytes / asked).toFixed(0)}`,
    );
    // 100 requests in 3 s: one answer (the gap is 5 s) of at most HISTORY_ANSWER_MAX messages.
    expect(answers.length).toBeLessThanOrEqual(HISTORY_ANSWER_MAX);
    expect(answers.length).toBeGreaterThan(0);
    expect(alice.stats.historyRefused).toBeGreaterThanOrEqual(95);
  });
});
