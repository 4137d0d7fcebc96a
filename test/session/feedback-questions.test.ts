/**
 * Feedback that does not grow with the room (PROTOCOL.md §13), on real Sessions over the
 * in-memory hub on a virtual clock: in a room bigger than SMALL_ROOM_MAX a sender hears from a
 * few named members and from those behind its questions, not from everyone.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SMALL_ROOM_MAX } from "../../src/session/sending/flow-control.ts";
import { PacedReader } from "../helpers/reader-sink.ts";
import { closeRoomMembers, roomMember, until, virtualRoom } from "../helpers/virtual-room.ts";

afterEach(closeRoomMembers);

type Room = ReturnType<typeof virtualRoom>;

/** Feedback frames (REPORT, STREAM_REPORT, NACK, STREAM_NACK) sent on the hub since `from`. */
function feedback(r: Room, from: number) {
  const count = { reports: 0, nacks: 0 };
  for (const d of r.hub.sent.slice(from)) {
    const type = d.data[3];
    if (type === 0x13 || type === 0x16) count.reports++;
    if (type === 0x10 || type === 0x14) count.nacks++;
  }
  return count;
}

/**
 * `n` listeners and a sender, started one after the other, the room settled. Members listed in
 * `slow` read at that many events per ms.
 */
async function room(n: number, slow: Record<number, number> = {}) {
  const r = virtualRoom();
  const readers = new Map<number, PacedReader>();
  const members = Array.from({ length: n }, (_, i) => {
    const rate = slow[i];
    const events = rate === undefined ? undefined : new PacedReader(r.vc, rate);
    if (events) readers.set(i, events);
    return roomMember(r, `m${i}`, { listen: true, ...(events ? { events } : {}) });
  });
  for (const m of members) {
    await m.s.start();
    await r.vc.run(20);
  }
  const sender = roomMember(r, "sender");
  await sender.s.start();
  await r.vc.run(3000);
  const lines = (m: (typeof members)[number]) =>
    m.events.filter((e) => e.type === "message").length;
  return { r, members, sender, lines, readers };
}

describe("a room of 40 (bigger than SMALL_ROOM_MAX)", () => {
  test("one chat line costs at most 5 REPORT frames; a room of 8 keeps §8's one per member", async () => {
    expect(SMALL_ROOM_MAX).toBeLessThan(40);
    const big = await room(40);
    const before = big.r.hub.sent.length;
    await big.sender.s.send("hello, hall");
    await until(big.r, () => big.members.every((m) => big.lines(m) === 1));
    await big.r.vc.run(3000);
    const line = feedback(big.r, before);
    await closeRoomMembers();

    const small = await room(8);
    const before8 = small.r.hub.sent.length;
    await small.sender.s.send("hello, table");
    await until(small.r, () => small.members.every((m) => small.lines(m) === 1));
    await small.r.vc.run(3000);
    const line8 = feedback(small.r, before8);
    console.log(
      `one chat line: ${line.reports} REPORTs in a room of 41, ${line8.reports} in a room of 9`,
    );
    expect(line.reports).toBeLessThanOrEqual(5);
    expect(line8.reports).toBeGreaterThanOrEqual(8);
  }, 120_000);

  test("a 3,000-line pipe reaches all 40 with at most 1 feedback frame per 50 lines, paced by the slowest, and drains", async () => {
    // Three slow readers: 2, 3 and 4 lines per ms; the sender can go no faster than 2.
    const { r, members, sender, lines } = await room(40, { 5: 3, 11: 2, 30: 4 });
    const start = r.vc.now();
    const before = r.hub.sent.length;
    const N = 3000;
    let sent = 0;
    const piping = (async () => {
      for (let i = 0; i < N; i++) {
        await sender.s.send(`line ${i}`);
        sent++;
      }
      return sender.s.drain();
    })();
    await until(r, () => sent === N, 60_000);
    let drained: { behind: string[] } | undefined;
    piping.then((d) => {
      drained = d;
    });
    await until(r, () => drained !== undefined, 30_000);
    const fb = feedback(r, before);
    const took = r.vc.now() - start;
    console.log(
      `3,000 lines to 40: ${fb.reports} REPORTs, ${fb.nacks} NACKs in ${took.toFixed(0)} ms; drained ${JSON.stringify(drained)}; flow waits ${sender.s.stats.flowWaits}`,
    );
    // Paced: the slowest reader (2 lines/ms) needed 1,500 ms; the sender never ran more than a
    // window ahead of it, so it was still draining when that reader finished.
    expect(took).toBeGreaterThanOrEqual(N / 2);
    expect(sender.s.stats.flowWaits).toBeGreaterThan(0);
    expect(drained).toEqual({ behind: [] });
    for (const m of members) expect(lines(m)).toBe(N);
    expect(fb.reports + fb.nacks).toBeLessThanOrEqual(N / 50);
    // Every line in order, once: the listeners saw "line 0" .. "line 2999".
    const texts = members[7]?.events.flatMap((e) => (e.type === "message" ? [e.text] : []));
    expect(texts).toEqual(Array.from({ length: N }, (_, i) => `line ${i}`));
  }, 180_000);
});

describe("a frozen reader in a room of 20 (0.2's promises at any size)", () => {
  test("holds the sender to a window until the stall rule, is warned about once, then gets everything", async () => {
    const { r, members, sender, readers } = await room(20, { 7: 0 });
    const frozen = readers.get(7) as PacedReader;
    const N = 6000;
    let sent = 0;
    const sentAt: number[] = [];
    const piping = (async () => {
      for (let i = 0; i < N; i++) {
        await sender.s.send(`line ${i}`);
        sent++;
        sentAt.push(r.vc.now());
      }
    })();
    await r.vc.run(2000);
    const atTwo = sent;
    // 200 ms heartbeats: the stall rule lets go 600 ms after it fell behind
    await until(r, () => sent === N, 30_000);
    await piping;
    const warned = sender.events.flatMap((e) =>
      e.type === "warning" && e.text.includes("keeping up") ? [e.text] : [],
    );
    frozen.perMs = 50;
    await until(r, () => frozen.consumed === frozen.emitted && frozen.emitted >= N, 30_000);
    const texts = frozen.events.flatMap((e) => (e.type === "message" ? [e.text] : []));
    const held = Math.max(...sentAt.slice(1).map((t, i) => t - (sentAt[i] as number)));
    console.log(
      `frozen reader in a room of 21: ${atTwo} sent in the first 2 s, held ${held.toFixed(0)} ms; warnings ${JSON.stringify(warned)}`,
    );
    // It held the sender (the stall rule: 3 heartbeats of 200 ms), and no longer than that.
    expect(held).toBeGreaterThanOrEqual(550);
    expect(held).toBeLessThanOrEqual(1000);
    expect(warned.length).toBe(1);
    expect(warned[0]).toContain("m7");
    expect(texts).toEqual(Array.from({ length: N }, (_, i) => `line ${i}`));
    expect(frozen.events.some((e) => e.type === "lost")).toBe(false);
    for (const m of members) {
      expect(m.events.filter((e) => e.type === "message").length).toBe(N);
    }
  }, 120_000);
});

describe("a member cut off from a room of 20 (silence is taken as 'reached')", () => {
  test("does not hold the sender; back, it gets what the repair buffer still holds and one lost event for the rest", async () => {
    const { r, members, sender } = await room(20);
    const cut = members[3] as (typeof members)[number];
    let cutOff = false;
    r.hub.drop = (to, d) => cutOff && (to === cut.transport || d.port === cut.transport.port);
    const N = 30_000;
    let sent = 0;
    let cutAt = 0;
    const sentAt: number[] = [];
    const piping = (async () => {
      for (let i = 0; i < N; i++) {
        if (i === 1000) {
          cutOff = true;
          cutAt = r.vc.now();
        }
        await sender.s.send(`line ${i}`);
        sent++;
        sentAt.push(r.vc.now());
      }
    })();
    await until(r, () => sent === N, 60_000);
    await piping;
    const tookCut = r.vc.now() - cutAt;
    cutOff = false; // back: it hears the next heartbeat's tail and NACKs
    await until(
      r,
      () => {
        const got = cut.events.filter((e) => e.type === "message").length;
        const lost = cut.events.reduce((a, e) => a + (e.type === "lost" ? e.count : 0), 0);
        return got + lost === N;
      },
      60_000,
    );
    const texts = cut.events.flatMap((e) => (e.type === "message" ? [e.text] : []));
    const lost = cut.events.filter((e) => e.type === "lost");
    console.log(
      `cut off after 1,000 lines: the sender sent the other 29,000 in ${tookCut.toFixed(0)} ms, never held; back, it got ${texts.length} lines and ${lost.length} lost event(s) of ${lost.reduce((a, e) => a + (e.type === "lost" ? e.count : 0), 0)}`,
    );
    // The sender was not held for the stall rule's 600 ms: nobody waited for the cut member.
    const held = Math.max(...sentAt.slice(1).map((t, i) => t - (sentAt[i] as number)));
    expect(held).toBeLessThan(600);
    // Everything it got is in order, once; the gap is one lost event (0.2's promise).
    const seqs = texts.map((t) => Number(t.slice(5)));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // All the repair buffer held (its last 16,384) came back, at the per-member repair rate
    // (2,048/s), however long that takes; what had left it is reported lost.
    expect(texts.length).toBe(1000 + 16_384);
    const lostCount = lost.reduce((a, e) => a + (e.type === "lost" ? e.count : 0), 0);
    expect(lostCount).toBe(N - 1000 - 16_384);
    // (one lost event per MAX_TAIL_LEAD step in which a far tail is believed, at most)
    expect(lost.length).toBeLessThanOrEqual(Math.ceil(lostCount / 4096));
  }, 180_000);
});
