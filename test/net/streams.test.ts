/**
 * Wire v1.1 between lab hosts, real sockets: typed records and numbered streams.
 *
 * 1. A member that sends records of a kind nobody else reads (test/helpers/kind-member.ts, the
 *    test-only PROBE kind) among its text, at 20% loss (nftables) on every receiver's host:
 *    dist/mcchat delivers every text message around them once and in order, with no `lost`
 *    event and no NACK for their seqs; mcchat 0.2.0 (dist/test/mcchat-0.2.0) shows every text
 *    message once and never reports a loss; a member that reads the kind gets every record.
 * 2. A bulk stream (stream 1, kind BULK) at full speed alongside chat from the same sender: a
 *    chat line reaches the others in under 200 ms (p99 over 100 lines), the bulk stream paced by
 *    its own window (its reader's reports), chat never waiting for it.
 *
 *   h0 198.18.0.1  sender: kind-member "ks"
 *   h1 198.18.0.2  dist/mcchat --listen --json "m"
 *   h2 198.18.0.3  mcchat 0.2.0 --listen --json --stats "old" (test 1)
 *   h3 198.18.0.4  kind-member --listen "kr" (reads PROBE and BULK)
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { type JsonEvent, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  BINARY,
  describeLab,
  type Host,
  implementations,
  type Proc,
  ROOT,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { OLD_NEWER_RE, OLD_STATS_RE, oldMcchat, oldStatsOf } from "../helpers/old-mcchat.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.72.1";
const OLD = oldMcchat();
const HAVE_BIN = implementations().some((i) => i.label !== "source" && i.available);
const KIND_MEMBER = [process.execPath, join(ROOT, "test/helpers/kind-member.ts")];

type Line = Record<string, unknown>;
const lines = (p: Proc) => p.json<Line>();
const eventsOf = (p: Proc): JsonEvent[] =>
  lines(p).flatMap((l) => (l.event ? [l.event as JsonEvent] : l.type ? [l as JsonEvent] : []));
const p99 = (xs: number[]) =>
  xs[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)] as number;
const joined = (p: Proc, nick: string) =>
  eventsOf(p).some((e) => e.type === "join" && e.nick === nick);

describeLab(
  `typed records in a room with dist/mcchat and mcchat 0.2.0${!HAVE_BIN ? " [skipped: dist/mcchat not built]" : OLD.available ? "" : ` [skipped: ${OLD.skipReason}]`}`,
  () => {
    const hosts = sharedLab(4);
    const when = HAVE_BIN && OLD.available ? test : test.skip;

    when(
      "records of a kind only one member reads, at 20% loss: text around them once and in order, no loss, no NACK for their seqs; 0.2 shows the text",
      async () => {
        const [h0, h1, h2, h3] = (await hosts()) as [Host, Host, Host, Host];
        const room = ["-g", GROUP, "-p", "27201"];
        const m = h1.spawn([BINARY, "-y", ...room, "--listen", "--json", "-n", "m"]);
        const old = h2.spawn([
          OLD.argv[0] as string,
          "-y",
          ...room,
          "--listen",
          "--json",
          "--stats",
          "-n",
          "old",
        ]);
        const kr = h3.spawn([...KIND_MEMBER, ...room, "-n", "kr", "--listen"], { stdin: "pipe" });
        const ks = h0.spawn([...KIND_MEMBER, ...room, "-n", "ks"], { stdin: "pipe" });
        const all = [m, old, kr, ks];
        await waitFor(
          () =>
            joined(ks, "m") &&
            joined(ks, "old") &&
            joined(ks, "kr") &&
            joined(m, "ks") &&
            joined(old, "ks") &&
            joined(kr, "ks"),
          20_000,
          "everyone sees the sender join, and it sees them",
          all,
        );
        for (const h of [h1, h2, h3]) await h.setLoss(20);

        const texts: string[] = [];
        let script = "";
        let probes = 0;
        for (let i = 0; i < 300; i++) {
          if ((i * 7) % 3 === 0) {
            // 1 to 3 fragments
            script += `probe ${1 + ((i * 397) % 3000)}\n`;
            probes++;
          } else {
            texts.push(`text ${i} ${"x".repeat(i % 50)}`);
            script += `text ${texts[texts.length - 1]}\n`;
          }
        }
        ks.write(script);
        ks.end();
        const gotTexts = (p: Proc) =>
          eventsOf(p).flatMap((e) =>
            e.type === "message" && e.nick === "ks" && !e.history ? [e.text] : [],
          );
        const probesSeen = () => lines(kr).filter((l) => l.seen === "probe").length;
        await waitFor(
          () =>
            gotTexts(m).length >= texts.length &&
            gotTexts(old).length >= texts.length &&
            gotTexts(kr).length >= texts.length &&
            probesSeen() >= probes,
          60_000,
          "every receiver has every text line, and kr every probe record",
          all,
        );
        expect(await ks.waitForExit(30_000)).toBe(0);
        for (const h of [h1, h2, h3]) await h.clearLoss();

        // The probe records' seqs (stream 0) as the sender gave them.
        const probeSeqs = new Set<number>();
        for (const l of lines(ks)) {
          if (l.sent !== "probe") continue;
          for (let k = 0; k < (l.fragments as number); k++) probeSeqs.add((l.seq as number) + k);
        }
        const nacks = lines(ks).flatMap((l) =>
          l.nack
            ? [
                l.nack as {
                  from: string;
                  stream: number | string;
                  ranges: { start: number; count: number }[];
                },
              ]
            : [],
        );
        const fromHost = (h: Host) => nacks.filter((n) => n.from.startsWith(`${h.address}:`));
        const nackedSeqs = (h: Host) =>
          fromHost(h)
            .filter((n) => n.stream === 0)
            .flatMap((n) =>
              n.ranges.flatMap((r) => Array.from({ length: r.count }, (_, k) => r.start + k)),
            );
        const mProbeNacks = nackedSeqs(h1).filter((s) => probeSeqs.has(s));

        for (const [name, p] of [
          ["dist/mcchat", m],
          ["mcchat 0.2.0", old],
          ["kind reader", kr],
        ] as const) {
          expect({ name, texts: gotTexts(p) }).toEqual({ name, texts });
          expect({ name, lost: eventsOf(p).filter((e) => e.type === "lost") }).toEqual({
            name,
            lost: [],
          });
        }
        // dist/mcchat never asked for a seq of a record it does not read.
        expect(mProbeNacks).toEqual([]);
        // The kind reader got every probe record once.
        const seenSeqs = lines(kr)
          .filter((l) => l.seen === "probe")
          .map((l) => l.seq);
        expect(seenSeqs.length).toBe(probes);
        expect(new Set(seenSeqs).size).toBe(probes);

        for (const p of [m, old, kr]) p.end();
        await stopAll();
        const oldStats = oldStatsOf(old);
        expect(oldStats?.lost).toBe(0);
        const oldErr = old.lines("stderr").filter((l) => !OLD_STATS_RE.test(l));
        for (const l of oldErr) expect(l).toMatch(OLD_NEWER_RE);
        console.log(
          `probes ${probes} (${probeSeqs.size} seqs) among ${texts.length} texts at 20% loss: dist/mcchat NACK frames ${fromHost(h1).length} (for probe seqs: ${mProbeNacks.length}); 0.2 repaired ${oldStats?.repaired}, lost ${oldStats?.lost}; 0.2 stderr: ${JSON.stringify(oldErr)}`,
        );
      },
      120_000,
    );

    /**
     * ks streams BULK records (1,100 B) as fast as stream 1's window allows while it writes 100
     * chat lines, one every 50 ms; kr reads the bulk stream (its reports pace it), m only chat.
     * `loss` % of what reaches kr is dropped: its reports lag and the bulk window is often full.
     */
    async function bulkBesideChat(port: number, loss: number) {
      const [h0, h1, , h3] = (await hosts()) as [Host, Host, Host, Host];
      const room = ["-g", GROUP, "-p", String(port)];
      const m = h1.spawn([BINARY, "-y", ...room, "--listen", "--json", "-n", "m"]);
      const kr = h3.spawn([...KIND_MEMBER, ...room, "-n", "kr", "--listen"], { stdin: "pipe" });
      const ks = h0.spawn([...KIND_MEMBER, ...room, "-n", "ks"], { stdin: "pipe" });
      const all = [m, kr, ks];
      await waitFor(
        () => joined(ks, "m") && joined(ks, "kr") && joined(m, "ks") && joined(kr, "ks"),
        20_000,
        "everyone sees everyone join",
        all,
      );
      if (loss > 0) await h3.setLoss(loss);
      ks.write("bulk 0 1100\n");
      const bulkSeen = () =>
        Math.max(
          0,
          ...lines(kr).flatMap((l) => (typeof l.bulkSeen === "number" ? [l.bulkSeen] : [])),
        );
      await waitFor(() => bulkSeen() > 1000, 20_000, "the bulk stream is flowing", all);
      const bulkBefore = bulkSeen();
      for (let i = 0; i < 100; i++) {
        ks.write(`text chat ${i}\n`);
        await Bun.sleep(50);
      }
      const chat = (p: Proc) => eventsOf(p).filter((e) => e.type === "message" && e.nick === "ks");
      await waitFor(
        () => chat(m).length >= 100 && chat(kr).length >= 100,
        20_000,
        "m and kr have every chat line",
        all,
      );
      const bulkDuring = bulkSeen() - bulkBefore;
      if (loss > 0) await h3.clearLoss();
      ks.write("stop\n");
      ks.end();
      expect(await ks.waitForExit(30_000)).toBe(0);

      const sentAt = new Map<string, number>();
      const took: number[] = [];
      for (const l of lines(ks)) {
        if (l.sent === "text") {
          sentAt.set(l.text as string, l.at as number);
          took.push(l.took as number);
        }
      }
      const latencies = (p: Proc) =>
        chat(p)
          .filter((e) => sentAt.has(e.text ?? ""))
          .map(
            (e) => new Date(e.time as string).getTime() - (sentAt.get(e.text as string) as number),
          )
          .sort((a, b) => a - b);
      const lm = latencies(m);
      const lk = latencies(kr);
      const stats = (lines(ks).find((l) => l.stats)?.stats ?? {}) as Record<string, number>;
      const bulkDone = lines(ks).find((l) => typeof l.bulkDone === "number")?.bulkDone as number;
      const tookMax = Math.max(...took);
      console.log(
        `${loss}% loss at the bulk reader: bulk ${bulkDone} records of 1100 B sent (${bulkDuring} read by kr during the 100 chat lines), window waits ${stats.flowWaits}; chat latency p50/p99/max: m ${lm[50]}/${p99(lm)}/${lm[lm.length - 1]} ms, kr ${lk[50]}/${p99(lk)}/${lk[lk.length - 1]} ms; a chat send() took at most ${tookMax.toFixed(1)} ms`,
      );
      expect(lm).toHaveLength(100);
      expect(lk).toHaveLength(100);
      // The bulk stream really ran alongside.
      expect(bulkDuring).toBeGreaterThan(500);
      return { lm, lk, tookMax, flowWaits: stats.flowWaits };
    }

    when(
      "a bulk stream at full speed beside chat from the same sender: every chat line arrives in under 200 ms (p99 of 100)",
      async () => {
        const { lm, lk } = await bulkBesideChat(27211, 0);
        expect(p99(lm)).toBeLessThan(200);
        expect(p99(lk)).toBeLessThan(200);
      },
      120_000,
    );

    when(
      "with the bulk reader losing 30%, the bulk window is often full: chat never waits on it (its own window), and arrives at m in under 200 ms (p99)",
      async () => {
        const { lm, tookMax, flowWaits } = await bulkBesideChat(27221, 30);
        // The bulk window held the sender (kr's reports lag behind its losses). At 0% loss a
        // reader as fast as the sender may never fill it, so only this case asserts it.
        expect(flowWaits).toBeGreaterThan(0);
        expect(p99(lm)).toBeLessThan(200);
        // With one window for both (bulk registered on stream 0), a chat send() waited 300 ms.
        expect(tookMax).toBeLessThan(100);
      },
      120_000,
    );
  },
);
