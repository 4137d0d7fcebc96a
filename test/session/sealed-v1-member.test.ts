/**
 * A mcchat 0.2 member in an encrypted room (PROTOCOL.md §10.7, "mcchat 0.2"), on the real
 * Session over the in-memory hub (virtual clock). The 0.2 member is modelled from its source
 * (f62c515, src/session/session.ts and report-schedule.ts): it seals v1 frames only, answers
 * no FRESH challenge (it cannot decode one: not a v1 frame), ignores v1.1 frames, and sends a
 * v1 REPORT about a sender REPORT_DELAY_MS (20 ms) after it first hears that sender's v1
 * presence, or when that presence carries REPORT-WANTED. It heartbeats every 2 s.
 *
 * The lab test with the real 0.2.0 binary is test/net/sealed-legacy.test.ts (3) and (4).
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { LEGACY_HINT_GAP_MS } from "../../src/net/legacy-hint.ts";
import { sealTransport } from "../../src/net/sealed-transport.ts";
import {
  decode,
  deriveSendKey,
  encode,
  type Frame,
  openFrame,
  sealFrame,
} from "../../src/protocol/index.ts";
import { V1_PROBE_HEARTBEATS } from "../../src/session/compat/v1-view.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { messageFrame } from "../helpers/frames.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const HEARTBEAT_MS = 500;
const OLD_HEARTBEAT_MS = 2000;
const OLD_REPORT_DELAY_MS = 20;

interface Member {
  s: RoomSession;
  t: MemoryTransport;
  events: SessionEvent[];
}

function room(seed = 1) {
  const vc = new VirtualClock(1000);
  const rng = mulberry32(seed);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.3 + rng() });
  const key = Uint8Array.from(randomBytes(32));
  let n = 0;
  const member = (nick: string, extra: { listen?: boolean } = {}): Member => {
    const t = hub.attach(`198.18.0.${++n}`);
    const transport = sealTransport(t, {
      roomKey: key,
      scheduler: vc,
      random: (k) => Uint8Array.from({ length: k }, () => Math.floor(rng() * 256)),
    });
    const s = createSession({
      transport,
      encoding: "utf8",
      raw: false,
      nick,
      scheduler: vc,
      random: rng,
      heartbeatMs: HEARTBEAT_MS,
      ...extra,
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    return { s, t, events };
  };
  /** A mcchat 0.2 member, as its source behaves in an encrypted room (see the file comment). */
  const old = (nick: string) => {
    const t = hub.attach(`198.18.0.${++n}`);
    const id = Buffer.from(randomBytes(8)).toString("hex");
    const salt = Uint8Array.from(randomBytes(16));
    const k = deriveSendKey(key, salt);
    let counter = 0n;
    let seq = 0xffffffff;
    const startedAt = vc.now();
    const heard: Frame[] = [];
    const reported = new Set<string>();
    let alive = true;
    const send = (f: Frame) => {
      if (alive) void t.send(sealFrame(k, salt, counter++, encode(f)));
    };
    const presence = (type: "hello" | "heartbeat") =>
      send({ type, id, seq, nick, age: Math.floor(vc.now() - startedAt) });
    t.onDatagram((d) => {
      if (d.self) return;
      let f: Frame;
      try {
        f = decode(openFrame((s) => deriveSendKey(key, s), d.data).inner);
      } catch {
        return; // FRESH, a v1.1 type, another key: 0.2 shows none of it
      }
      heard.push(f);
      if (
        (f.type === "hello" || f.type === "heartbeat") &&
        (!reported.has(f.id) || f.reportWanted)
      ) {
        reported.add(f.id);
        const target = f.id;
        const next = (f.seq + 1) >>> 0;
        vc.at(vc.now() + OLD_REPORT_DELAY_MS, () =>
          send({ type: "report", id, seq, entries: [{ target, next }] }),
        );
      }
    });
    const beat = () => {
      if (!alive) return;
      presence("heartbeat");
      vc.at(vc.now() + OLD_HEARTBEAT_MS, beat);
    };
    presence("hello");
    vc.at(vc.now() + OLD_HEARTBEAT_MS, beat);
    return {
      t,
      id,
      heard,
      say(text: string) {
        seq = (seq + 1) >>> 0;
        send(
          messageFrame(seq, {
            id,
            nick,
            time: Date.now(),
            payload: new TextEncoder().encode(text),
          }),
        );
      },
      /** The texts of the v1 MESSAGE frames it heard (what 0.2 shows). */
      texts: () =>
        heard.flatMap((f) =>
          f.type === "message" ? [new TextDecoder().decode(f.payload)] : ([] as string[]),
        ),
      stop() {
        alive = false;
        void t.close();
      },
    };
  };
  return { vc, hub, key, member, old };
}

const texts = (m: Member) =>
  m.events.flatMap((e) => (e.type === "message" && !e.self ? [e.text] : []));
const joined = (m: Member, nick: string) =>
  m.events.some((e) => e.type === "join" && e.nick === nick);
/** Our v1 view's frames (COMPAT-flagged v1 presence and messages) that `m` sent. */
function v1ViewSent(r: ReturnType<typeof room>, m: Member) {
  return r.hub.sent
    .filter((d) => d.from === m.t)
    .flatMap((d) => {
      try {
        const f = decode(openFrame((s) => deriveSendKey(r.key, s), d.data).inner);
        return "compat" in f && f.compat ? [f] : [];
      } catch {
        return [];
      }
    });
}

describe("an encrypted room with a mcchat 0.2 member (v1 only, no FRESH)", () => {
  test("0.2 first: the current member shows it within one of its heartbeats, and it shows our lines", async () => {
    const r = room(1);
    const o = r.old("old");
    await r.vc.run(700); // its HELLO went out before we were there
    const n = r.member("new");
    await n.s.start();
    const startedAt = r.vc.now();
    const both = await r.vc.runUntilTrue(
      () => joined(n, "old") && o.heard.some((f) => f.type === "hello" && f.compat),
      OLD_HEARTBEAT_MS + 500,
    );
    expect(both).toBe(true);
    const shownAfter = r.vc.now() - startedAt;
    expect(shownAfter).toBeLessThanOrEqual(OLD_HEARTBEAT_MS + 100);
    o.say("from 0.2");
    await r.vc.run(200);
    expect(texts(n)).toEqual(["from 0.2"]);
    await n.s.send("from 0.4");
    await r.vc.run(200);
    expect(o.texts()).toEqual(["from 0.4"]);
    expect(n.s.stats.replayed).toBe(0);
  });

  test("current member first: a 0.2 member starting later is shown, with its first line, at once", async () => {
    const r = room(2);
    const n = r.member("new", { listen: true });
    await n.s.start();
    await r.vc.run(3000);
    expect(v1ViewSent(r, n)).toEqual([]); // no 0.2 member yet: no v1 view
    const o = r.old("old");
    o.say("hi, I just came");
    const startedAt = r.vc.now();
    expect(await r.vc.runUntilTrue(() => texts(n).length > 0, 1000)).toBe(true);
    expect(r.vc.now() - startedAt).toBeLessThan(100);
    expect(texts(n)).toEqual(["hi, I just came"]);
    expect(joined(n, "old")).toBe(true);
  });

  test("its first REPORT lost: our REPORT-WANTED v1 heartbeats get another within a heartbeat", async () => {
    const r = room(3);
    const n = r.member("new", { listen: true });
    await n.s.start();
    await r.vc.run(1000);
    let lost = 0;
    const oldAddress = "198.18.0.2";
    r.hub.drop = (to, d) => {
      if (to !== n.t || d.address !== oldAddress || lost > 0) return false;
      // the first datagram of the 0.2 member after our v1 HELLO: its REPORT about us
      if (v1ViewSent(r, n).length === 0) return false;
      lost++;
      return true;
    };
    const o = r.old("old");
    expect(o.t.address).toBe(oldAddress);
    expect(await r.vc.runUntilTrue(() => joined(n, "old"), 3 * HEARTBEAT_MS)).toBe(true);
    expect(lost).toBe(1);
    expect(o.heard.some((f) => f.type === "heartbeat" && f.compat && f.reportWanted)).toBe(true);
  });

  test("a capture of a 0.2 run replayed to a later joiner shows nothing; it costs only v1 presence, bounded", async () => {
    const r = room(4);
    const mate = r.member("mate", { listen: true });
    await mate.s.start();
    const boss = r.old("boss");
    await r.vc.run(500);
    boss.say("wire the money to mallory");
    await r.vc.run(5000);
    expect(texts(mate)).toEqual(["wire the money to mallory"]);
    const captured = r.hub.sent.filter((d) => d.from === boss.t).map((d) => d.data);
    boss.stop();
    await mate.s.close();
    await r.vc.run(10_000);

    const late = r.member("late", { listen: true });
    await late.s.start();
    await r.vc.run(500);
    const attacker = r.hub.attach("198.18.0.66");
    const seconds = 60;
    const before = v1ViewSent(r, late).length;
    for (let ms = 0; ms < seconds * 1000; ms += 100) {
      for (const d of captured) void attacker.send(d);
      await r.vc.run(100);
    }
    expect(texts(late)).toEqual([]);
    expect(late.events.filter((e) => e.type === "join")).toEqual([]);
    expect(late.s.stats.replayed).toBeGreaterThan(captured.length);
    // What the replay made us send: v1 presence only (no text, no stream), at most one HELLO
    // per probe and our heartbeats while it is on.
    const sent = v1ViewSent(r, late).slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((f) => f.type === "hello" || f.type === "heartbeat")).toBe(true);
    const bound = (seconds * 1000) / HEARTBEAT_MS + (seconds * 1000) / LEGACY_HINT_GAP_MS + 2;
    expect(sent.length).toBeLessThanOrEqual(bound);
    // When the replay stops, so does the v1 view, within V1_PROBE_HEARTBEATS heartbeats.
    await r.vc.run(V1_PROBE_HEARTBEATS * HEARTBEAT_MS + 100);
    const after = v1ViewSent(r, late).length;
    await r.vc.run(10_000);
    expect(v1ViewSent(r, late).length).toBe(after);
    console.log(
      `replayed ${captured.length} datagrams of a 0.2 run every 100 ms for ${seconds} s: the late joiner showed nothing and sent ${sent.length} v1 presence frames (bound ${bound})`,
    );
  });
});
