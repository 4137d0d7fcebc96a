/**
 * What a hostile neighbour's datagrams can make a member do, on the real Session (virtual
 * clock, in-memory hub): a made-up member cannot make us resend our history by NACK — whether
 * it speaks v1.1 (PRESENCE, STREAM_NACK for stream 0) or poses as a 0.2 member (v1 HELLO and
 * NACK, answered from our v1 view) — and a flood of HISTORY_REQs costs one bounded answer.
 */
import { describe, expect, test } from "bun:test";
import { decode, encode, type Frame, type SeqRange } from "../../src/protocol/index.ts";
import { HISTORY_ANSWER_MAX } from "../../src/session/history/history-responder.ts";
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

/** A member's hello and a NACK for alice's conversation, in the wire it speaks. */
const WIRES = {
  "v1.1": {
    hello: (id: string, nick: string): Frame => ({
      type: "presence",
      id,
      seq: 0,
      phase: "hello",
      nick,
      age: 0,
      streams: [],
      kinds: [1],
    }),
    nack: (id: string, target: string, ranges: SeqRange[]): Frame => ({
      type: "stream_nack",
      id,
      seq: 0,
      target,
      stream: 0,
      ranges,
    }),
    repair: (f: Frame) => f.type === "record" && f.repair,
  },
  "v1 (a 0.2 member)": {
    hello: (id: string, nick: string): Frame => ({
      type: "hello",
      id,
      seq: 0xffffffff,
      nick,
      age: 0,
    }),
    nack: (id: string, target: string, ranges: SeqRange[]): Frame => ({
      type: "nack",
      id,
      seq: 0xffffffff,
      target,
      ranges,
    }),
    repair: (f: Frame) => f.type === "message" && f.repair,
  },
};

describe.each(Object.entries(WIRES))("a hostile neighbour speaking %s", (_, wire) => {
  test("an instance announced now cannot make us resend what we sent long before it appeared", async () => {
    const { vc, alice, sendEvil, hub, t } = setup();
    // An honest member of this wire was there from the start (for v1: alice's v1 view holds the
    // chat); it keeps saying hello, so it stays present.
    await sendEvil(wire.hello(fakeId(98), "carol"));
    await vc.run(1); // heard before the chat: a 0.2 member's view starts when alice hears it
    await chat(alice, vc, 200);
    for (let k = 0; k < 20; k++) {
      await sendEvil(wire.hello(fakeId(98), "carol"));
      await vc.run(500); // the chat is 10 s old
    }
    const before = hub.sent.length;
    let asked = 0;
    for (let i = 0; i < 25; i++) {
      const id = fakeId(i);
      await sendEvil(wire.hello(id, `m${i}`));
      const ranges = Array.from({ length: 32 }, (_, k) => ({ start: k * 65535, count: 65535 }));
      const nack = wire.nack(id, alice.id, ranges);
      asked += encode(nack).length + 31;
      await sendEvil(nack);
    }
    await vc.run(1000);
    const repairs = hub.sent
      .slice(before)
      .filter((d) => d.from === t)
      .map((d) => decode(d.data))
      .filter(wire.repair);
    expect(repairs).toHaveLength(0);
    expect(alice.stats.repairsRefused).toBeGreaterThanOrEqual(25 * 200);
    console.log(`NACK flood from 25 fresh ids (${asked} B): ${repairs.length} repairs`);
  });

  test("a member that was there from the start still gets its repairs", async () => {
    const { vc, alice, hub, sendEvil, t } = setup();
    // "bob" joined before alice started: it may NACK from seq 0.
    await sendEvil(wire.hello(fakeId(99), "bob"));
    await vc.run(1); // heard before the chat: a 0.2 member's view starts when alice hears it
    await chat(alice, vc, 20);
    await vc.run(900); // (bob sends no heartbeats here: within its 1.5 s timeout)
    const before = hub.sent.length;
    await sendEvil(wire.nack(fakeId(99), alice.id, [{ start: 0, count: 5 }]));
    await vc.run(500);
    const repairs = hub.sent
      .slice(before)
      .filter((d) => d.from === t)
      .map((d) => decode(d.data))
      .filter(wire.repair);
    expect(repairs.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("a hostile neighbour on an open room", () => {
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
    const answers = sentBy(before, "record", (f) => f.type === "record" && f.history);
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
