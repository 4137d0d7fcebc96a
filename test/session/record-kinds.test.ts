/**
 * Wire v1.1 on the real Session (virtual clock, in-memory room): a member sends records of a
 * kind the others do not read (PROBE, a test-only kind, test/helpers/probe-kind.ts) among its
 * text, at 20% loss each way on every receiver. Those that do not read the kind deliver every
 * text message around the records, in order, exactly once, with no `lost` event and no NACK for
 * those seqs (kind runs, PROTOCOL.md §12.5); one that reads the kind gets every record once.
 */
import { describe, expect, test } from "bun:test";
import { decode, isFramed } from "../../src/protocol/index.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { DEFAULT_FEATURES } from "../../src/session/features.ts";
import { Session } from "../../src/session/session.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { PROBE_KIND, probe, type SeenRecord } from "../helpers/probe-kind.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const LOSS = 0.2;

interface Member {
  s: Session;
  t: MemoryTransport;
  events: SessionEvent[];
  seen: SeenRecord[];
}

function room(seed: number) {
  const vc = new VirtualClock(1000);
  const rng = mulberry32(seed);
  const hub = new MemoryHub({ scheduler: vc, latencyMs: () => 0.3 + rng() });
  const lossy = new Set<MemoryTransport>();
  const byPort = new Map<number, MemoryTransport>();
  hub.drop = (to, d) => {
    if (lossy.has(to) && rng() < LOSS) return true;
    const from = byPort.get(d.port);
    return from !== undefined && lossy.has(from) && rng() < LOSS;
  };
  let n = 0;
  const member = (nick: string, opts: { reads?: boolean; lossy?: boolean } = {}): Member => {
    const t = hub.attach(`198.18.0.${++n}`);
    byPort.set(t.port, t);
    if (opts.lossy) lossy.add(t);
    const seen: SeenRecord[] = [];
    const s = new Session({
      transport: t,
      encoding: "utf8",
      raw: false,
      nick,
      scheduler: vc,
      random: mulberry32(seed * 100 + n),
      id: (0x100 + n).toString(16).padStart(16, "0"),
      features: opts.reads ? [...DEFAULT_FEATURES, probe(seen)] : DEFAULT_FEATURES,
    });
    const events: SessionEvent[] = [];
    s.on((e) => events.push(e));
    return { s, t, events, seen };
  };
  return { vc, hub, rng, member };
}

describe("records of a kind a member does not read, at 20% loss each way", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`seed ${seed}: text arrives around them, once and in order; no loss, no NACK for their seqs`, async () => {
      const { vc, hub, rng, member } = room(seed);
      const sender = member("sender", { reads: true });
      const blind = [member("r1", { lossy: true }), member("r2", { lossy: true })];
      const reader = member("r3", { reads: true, lossy: true });
      for (const m of [...blind, reader, sender]) await m.s.start();
      await vc.run(500);

      const texts: string[] = [];
      const probeSeqs = new Set<number>();
      const probes: { seq: number; fragments: number }[] = [];
      for (let i = 0; i < 400; i++) {
        if (rng() < 0.5) {
          // 1 to 3 fragments: a lost middle fragment is skipped too
          const body = new Uint8Array(1 + Math.floor(rng() * 3000)).fill(i & 0xff);
          const r = await sender.s.sendRecord(PROBE_KIND, body);
          probes.push({ seq: r.seq as number, fragments: r.fragments });
          for (let k = 0; k < r.fragments; k++) probeSeqs.add((r.seq as number) + k);
        } else {
          const text = `line ${i}`;
          texts.push(text);
          await sender.s.send(text);
        }
        if (i % 8 === 7) await vc.run(3);
      }
      await vc.run(15_000);

      const nacks = hub.sent.flatMap((d) => {
        if (!isFramed(d.data)) return [];
        const f = decode(d.data);
        return f.type === "stream_nack" && f.target === sender.s.id && f.stream === 0
          ? [{ from: d.from, ranges: f.ranges }]
          : [];
      });
      for (const r of blind) {
        const got = r.events.flatMap((e) =>
          e.type === "message" && e.id === sender.s.id && !e.history ? [e.text] : [],
        );
        expect(got).toEqual(texts);
        expect(r.events.filter((e) => e.type === "lost")).toEqual([]);
        const probeNacked = nacks
          .filter((x) => x.from === r.t)
          .flatMap((x) =>
            x.ranges.flatMap((g) => Array.from({ length: g.count }, (_, k) => g.start + k)),
          )
          .filter((seq) => probeSeqs.has(seq));
        expect(probeNacked).toEqual([]);
        expect(r.s.stats.skipped).toBe(probeSeqs.size);
        console.log(
          `seed ${seed} ${r.s.nick}: ${texts.length} texts, ${probes.length} probe records (${probeSeqs.size} seqs) skipped ${r.s.stats.skipped}; NACK frames ${nacks.filter((x) => x.from === r.t).length}, of them for probe seqs 0; repairs received ${r.s.stats.repairsReceived}`,
        );
      }
      // A member that reads the kind gets every record once, in order, and the text.
      expect(reader.seen.map((x) => x.seq)).toEqual(probes.map((p) => p.seq));
      expect(reader.events.filter((e) => e.type === "lost")).toEqual([]);
      expect(
        reader.events.flatMap((e) =>
          e.type === "message" && e.id === sender.s.id ? [e.text] : [],
        ),
      ).toEqual(texts);
    }, 60_000);
  }
});
