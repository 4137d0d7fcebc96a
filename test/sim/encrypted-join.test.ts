/**
 * An encrypted room filling up fast (a class arriving at once): MCCHAT_SIM_ENC_SIZE (default
 * 100) real Sessions, each behind the real sealed transport (sealTransport) with one room key,
 * join on one virtual clock over JOIN_SPREAD_MS, over the in-memory hub (0.5-2 ms per copy).
 *
 * What it proves: every member sees every other within SETTLE_MS (virtual) of the last join,
 * although each must first prove to each newcomer that it is live now (PROTOCOL.md §10.7), and
 * a chat line sent afterwards reaches every member exactly once. Nothing is shown twice or
 * lost on the way: the sealed layers count no datagram as undecryptable.
 *
 * What it measures (printed, not asserted): datagrams on the hub per join, and the busiest
 * second, against the same room without a passphrase. Each newcomer is challenged by the
 * members and answered by all of them, so an encrypted room's joins cost about one datagram
 * per member each: the known cost README's "Big rooms" names.
 */
import { afterAll, expect, test } from "bun:test";
import { sealTransport } from "../../src/net/sealed-transport.ts";
import type { RoomSecurity, Transport } from "../../src/net/transport.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const N = Number(process.env.MCCHAT_SIM_ENC_SIZE ?? 100);
/** Members join over this much virtual time (10 a second at the default size). */
const JOIN_SPREAD_MS = Number(process.env.MCCHAT_SIM_ENC_SPREAD_MS ?? 10_000);
/** Everyone sees everyone within this long after the last join (virtual ms). */
const SETTLE_MS = 10_000;

interface Figures {
  room: string;
  perJoin: number;
  busiest: number;
  settledMs: number;
}
const rows: Figures[] = [];

afterAll(() => {
  console.log(
    "\n| room of %d, joining over %d s | datagrams per join | busiest second | all see all, after the last join |",
    N,
    JOIN_SPREAD_MS / 1000,
  );
  console.log("|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.room} | ${r.perJoin.toFixed(1)} | ${r.busiest} | ${r.settledMs} ms |`);
  }
});

async function fill(encrypted: boolean): Promise<Figures> {
  const vc = new VirtualClock(1000);
  const rng = mulberry32(41);
  const hub = new MemoryHub({ scheduler: vc, keepSent: false, latencyMs: () => 0.5 + 1.5 * rng() });
  let sent = 0;
  hub.onSent = () => {
    sent++;
  };
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
  const sessions: RoomSession[] = [];
  const security: RoomSecurity[] = [];
  const got: Map<string, number>[] = [];
  for (let i = 0; i < N; i++) {
    vc.at(1000 + (i * JOIN_SPREAD_MS) / N, () => {
      const plain = hub.attach(`198.18.${i >> 8}.${i & 255}`);
      const random = mulberry32(500 + i);
      let transport: Transport = plain;
      if (encrypted) {
        const sealed = sealTransport(plain, {
          roomKey: key,
          scheduler: vc,
          random: (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)),
        });
        security.push(sealed.security);
        transport = sealed;
      }
      const s = createSession({
        transport,
        encoding: "utf8",
        raw: false,
        nick: `m${i}`,
        scheduler: vc,
        random,
      });
      const lines = new Map<string, number>();
      got.push(lines);
      s.on((e) => {
        if (e.type === "message" && !e.self) lines.set(e.text, (lines.get(e.text) ?? 0) + 1);
      });
      sessions.push(s);
      void s.start();
    });
  }
  try {
    const lastJoin = 1000 + ((N - 1) * JOIN_SPREAD_MS) / N;
    let busiest = 0;
    let sentAtLastJoin = 0;
    while (vc.now() < lastJoin) {
      const before = sent;
      await vc.runUntil(vc.now() + 1000);
      busiest = Math.max(busiest, sent - before);
      sentAtLastJoin = sent;
    }
    const everyone = () => sessions.length === N && sessions.every((s) => s.members().length === N);
    while (!everyone() && vc.now() < lastJoin + SETTLE_MS) {
      await vc.runUntil(vc.now() + 100);
    }
    const least = Math.min(...sessions.map((s) => s.members().length));
    expect(`${encrypted ? "encrypted" : "plain"}: the least member sees ${least} of ${N}`).toBe(
      `${encrypted ? "encrypted" : "plain"}: the least member sees ${N} of ${N}`,
    );
    const settledMs = Math.round(vc.now() - lastJoin);

    void (sessions[0] as RoomSession).send("after the storm");
    const reached = () => got.slice(1).filter((m) => m.get("after the storm") === 1).length;
    const end = vc.now() + 5000;
    while (reached() < N - 1 && vc.now() < end) await vc.runUntil(vc.now() + 50);
    await vc.runUntil(vc.now() + 1000); // time for a second copy to show, if one would
    expect(reached()).toBe(N - 1);
    expect(security.map((s) => s.counters().undecryptable).filter((n) => n > 0)).toEqual([]);
    return {
      room: encrypted ? "encrypted" : "plain",
      perJoin: sentAtLastJoin / N,
      busiest,
      settledMs,
    };
  } finally {
    for (const s of sessions) await s.close();
  }
}

test(`an encrypted room of ${N} filling up in ${JOIN_SPREAD_MS / 1000} s: all see all, one line reaches all once; the cost against a plain room`, async () => {
  rows.push(await fill(false));
  rows.push(await fill(true));
}, 1_800_000);
