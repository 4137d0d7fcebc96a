/**
 * Sends failing while the link is down (issue 15, "Interfaces that come back"): one warning when
 * they start failing, one when they work again, none per frame; what failed is repaired from
 * the repair buffer once the link is back, both ways. The real Session over an in-memory room
 * on a virtual clock (nothing sleeps).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Transport } from "../../src/net/transport.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { SendTrouble, watchSends } from "../../src/session/send-trouble.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const linkError = (code: string) =>
  Object.assign(new Error(`cannot send to 239.1.100.1: (${code})`), { code, via: "eth0" });

describe("SendTrouble", () => {
  test("an episode: said when it starts and when it ends, the failures counted in between", () => {
    const t = new SendTrouble();
    expect(t.succeeded(0)).toBeUndefined();
    expect(t.failed(1000, "ENETUNREACH", "eth0")).toBe(
      "cannot send (ENETUNREACH on eth0); retrying…",
    );
    for (let i = 0; i < 61; i++) expect(t.failed(1000 + i * 100, "ENETUNREACH")).toBeUndefined();
    expect(t.failing).toBe(true);
    expect(t.succeeded(11_200)).toBe(
      "can send again after 10.2 s (62 frames failed; members ask for what they missed)",
    );
    expect(t.failing).toBe(false);
    expect(t.succeeded(11_300)).toBeUndefined();
    // A new episode counts from zero; no interface known: the code alone.
    expect(t.failed(20_000, "ENETDOWN")).toBe("cannot send (ENETDOWN); retrying…");
    expect(t.succeeded(20_500)).toBe(
      "can send again after 0.5 s (1 frame failed; members ask for what they missed)",
    );
  });
});

describe("watchSends", () => {
  function watched(fail: () => string | undefined) {
    const said: string[] = [];
    let now = 0;
    const sent: Uint8Array[] = [];
    const inner: Transport = {
      send: async (d) => {
        const code = fail();
        if (code) throw linkError(code);
        sent.push(d);
      },
      onDatagram: () => {},
      close: async () => {},
    };
    const t = watchSends(inner, { now: () => now, say: (s) => said.push(s) });
    return { t, said, sent, tick: (ms: number) => (now += ms) };
  }

  test("link errors resolve (lost like on the wire) and are said twice per episode, not per frame", async () => {
    let code: string | undefined = "ENETUNREACH";
    const w = watched(() => code);
    for (let i = 0; i < 62; i++) {
      await w.t.send(new Uint8Array(1));
      w.tick(160);
    }
    expect(w.t.failing).toBe(true);
    code = undefined;
    await w.t.send(new Uint8Array(1));
    await w.t.send(new Uint8Array(1));
    expect(w.said).toEqual([
      "cannot send (ENETUNREACH on eth0); retrying…",
      "can send again after 9.9 s (62 frames failed; members ask for what they missed)",
    ]);
    expect(w.sent.length).toBe(2);
  });

  test("other failures (a datagram too large) still reject and open no episode", async () => {
    const w = watched(() => "EMSGSIZE");
    const err = await w.t.send(new Uint8Array(1)).catch((e) => e);
    expect((err as { code: string }).code).toBe("EMSGSIZE");
    expect(w.t.failing).toBe(false);
    expect(w.said).toEqual([]);
  });
});

describe("a member whose link is down for 10 s", () => {
  const sessions: RoomSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
  });

  for (const hears of [false, true]) {
    const how = hears
      ? "sends fail, still hearing the room (its address removed)"
      : "down both ways";
    test(`${how}: 2 warnings (none per frame, no 'not keeping up' nor 'caught up'); every line both ways arrives after, nothing lost`, async () => {
      const vc = new VirtualClock(1000);
      const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.5 });
      let down = false;
      const aInner = hub.attach("198.18.0.1");
      // Down: a's sends fail as a socket's would, and nothing reaches it.
      const aTransport: Transport = {
        send: (d, ch) => (down ? Promise.reject(linkError("ENETUNREACH")) : aInner.send(d, ch)),
        onDatagram: (h) => aInner.onDatagram(h),
        close: () => aInner.close(),
      };
      hub.drop = (to, d) => down && !hears && (to === aInner || d.address === "198.18.0.1");
      const make = (transport: Transport, nick: string, n: number) => {
        const s = createSession({
          transport,
          encoding: "utf8",
          raw: false,
          nick,
          heartbeatMs: 2000, // the default: a member is forgotten 24 s after it was last heard
          scheduler: vc,
          random: mulberry32(n),
        });
        const events: SessionEvent[] = [];
        s.on((e) => events.push(e));
        sessions.push(s);
        return { s, events };
      };
      const a = make(aTransport, "a", 1);
      const b = make(hub.attach("198.18.0.2"), "b", 2);
      await a.s.start();
      await b.s.start();
      const joined = (x: { events: SessionEvent[] }, nick: string) =>
        x.events.some((e) => e.type === "join" && e.nick === nick);
      expect(await vc.runUntilTrue(() => joined(a, "b") && joined(b, "a"), 3000)).toBe(true);

      const texts = (x: { events: SessionEvent[] }) =>
        x.events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));
      await a.s.send("a before");
      await b.s.send("b before");
      await vc.run(100);
      down = true;
      // 10 s down (5 heartbeats); a line from each every 2 s.
      for (let i = 1; i <= 5; i++) {
        await a.s.send(`a during ${i}`);
        await b.s.send(`b during ${i}`);
        await vc.run(2000);
      }
      down = false;
      const all = ["before", ...[1, 2, 3, 4, 5].map((i) => `during ${i}`)];
      expect(
        await vc.runUntilTrue(
          () =>
            all.every((t) => texts(b).includes(`a ${t}`)) &&
            all.every((t) => texts(a).includes(`b ${t}`)),
          10_000,
        ),
      ).toBe(true);
      const warnings = a.events.flatMap((e) => (e.type === "warning" ? [e.text] : []));
      expect(warnings).toEqual([
        "cannot send (ENETUNREACH on eth0); retrying…",
        expect.stringMatching(/^can send again after 1\d\.\d s \(\d+ frames failed/),
      ]);
      for (const x of [a, b]) expect(x.events.filter((e) => e.type === "lost")).toEqual([]);
    });
  }
});
