/**
 * Output is part of flow control (PROTOCOL.md §12.3): a member reports to a sender only what its
 * output consumed. A reader that does not read holds the sender to one window (not to nothing:
 * the member reports its start at once, so the sender counts it before it consumed anything),
 * until the stall rule lets the sender go on; when the reader reads again, it catches up.
 */
import { describe, expect, test } from "bun:test";
import { FLOW_DEFAULTS } from "../../src/session/sending/flow-control.ts";
import { createSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { ReaderSink } from "../helpers/reader-sink.ts";
import { sleep, VirtualClock } from "../helpers/virtual-clock.ts";

describe("output as flow control", () => {
  test("a reader that reads nothing holds the sender to one window from the first message on; read again, all arrive", async () => {
    const vc = new VirtualClock(1000);
    const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
    const reader = new ReaderSink();
    const rx = createSession({
      transport: hub.attach("198.18.0.2"),
      encoding: "utf8",
      raw: false,
      nick: "rx",
      listen: true,
      scheduler: vc,
      events: reader,
    });
    const tx = createSession({
      transport: hub.attach("198.18.0.1"),
      encoding: "utf8",
      raw: false,
      nick: "tx",
      scheduler: vc,
    });
    await rx.start();
    await tx.start();
    await vc.run(500);
    const N = 10_000;
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await tx.send(`line ${i}`);
        sent++;
        // 16,000 lines/s of virtual time: the room's datagrams flow meanwhile.
        if (i % 16 === 15) await sleep(vc, 1);
      }
    })();
    // 2 s (less than the stall rule's 6 s): the frozen reader holds the sender to a window.
    await vc.run(2000);
    const atFreeze = sent;
    console.log(
      `frozen reader: ${atFreeze} of ${N} sent in 2 s (window ${FLOW_DEFAULTS.windowFragments})`,
    );
    expect(atFreeze).toBeGreaterThan(0);
    expect(atFreeze).toBeLessThanOrEqual(FLOW_DEFAULTS.windowFragments + 1);
    // The reader reads again, and keeps reading: everything arrives, once, in order.
    const timer = setInterval(() => reader.read(), 0);
    try {
      for (let i = 0; i < 200 && sent < N; i++) {
        reader.read();
        await vc.run(50);
      }
      await sending;
      await vc.run(2000);
      reader.read();
    } finally {
      clearInterval(timer);
    }
    const texts = reader.events.flatMap((e) => (e.type === "message" ? [e.text] : []));
    expect(texts.length).toBe(N);
    expect(texts[0]).toBe("line 0");
    expect(texts[N - 1]).toBe(`line ${N - 1}`);
    expect(reader.events.filter((e) => e.type === "lost")).toEqual([]);
  }, 30_000);
});
