/**
 * Issue "No message lost", proven on lab hosts with loss injected by nftables on each
 * RECEIVER's input (PROTOCOL.md §5, §8):
 *
 *   h0, h1  senders "s1", "s2": 1,000 distinct lines each from stdin, --stats
 *   h2..h4  receivers: --listen --json --count 2000 --stats
 *
 * 1. 20% random loss (Host.setLoss): every receiver prints all 2,000 messages exactly once,
 *    in order per sender, no "lost" event; the listeners sent NACKs (a --listen member is
 *    repaired too).
 * 2. 40% random loss: the same, or every missing message is reported lost (delivered + lost
 *    == 1,000 per sender), in order, never a duplicate.
 * 3. The last message of a burst, dropped at one receiver by an exact nftables match, is
 *    repaired within 1 s (from the sender's timestamp to the receiver's JSON line).
 * 4. One loss shared by all three receivers (the same exact-match rule on each) costs on
 *    average at most 1.5 NACKs and 1.2 repairs: counted on the wire (nftables counters on
 *    the sender's host) and from --stats.
 *
 * Exact matches: UDP payload byte k is `@th,64+8k,8`. A TEXT record in one RECORD frame (wire
 * 1.1, PROTOCOL.md §12.3-12.4; nick "tx", 2 bytes, no kind runs): magic ff4d at 0, type 0x06 at
 * 3, flags at 4 (REPAIR 0x02), stream 0 at 17, kind 0x01 at 18, run count 0 at 21, then the
 * body at 24: text flags, nick length 2 at 25, nick, time (6), text at 34. The drop rules require
 * flags == 0, so the repair (same text, REPAIR flag) gets through.
 *
 * Readiness: the senders start with stdin open; every receiver must have printed a join for
 * each sender before a line is written (the senders have sent nothing yet, so every receiver
 * counts their messages from seq 0).
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import {
  events,
  type JsonEvent,
  joinedId,
  messages,
  type Stats,
  statsOf,
  textsFrom,
  waitFor,
} from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  type Lab,
  mcchatCommand,
  type Proc,
  stopAll,
} from "../helpers/netns.ts";
import { waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const MCCHAT = mcchatCommand();
const NFT = Bun.which("nft") ?? "/usr/sbin/nft";
/** Our own nftables table (Host.setLoss uses "inet mcc"; both can coexist). */
const TABLE = "inet mcctest";

/** Feeds `ruleset` to `nft -f -` on `host`. */
async function nftLoad(host: Host, ruleset: string) {
  await host.exec([NFT, "-f", "-"], { stdin: ruleset, timeoutMs: 5000 });
}

/** Deletes our table if it exists (adding it first makes the delete always succeed). */
const DROP_TABLE = `add table ${TABLE}\ndelete table ${TABLE}\n`;

/** Chain `hook` of our table with `rules`, as nft -f text. */
const chainRuleset = (hook: "input" | "output", rules: string[]) =>
  [
    `table ${TABLE} {`,
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority -10; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    "  }",
    "}",
    "",
  ].join("\n");

/** Loads an nftables ruleset (replacing our table) on `host`. */
async function nft(host: Host, rules: string[], hook: "input" | "output" = "input") {
  await nftLoad(host, DROP_TABLE + chainRuleset(hook, rules));
}

/** Adds a chain to our (existing) table. */
async function nftChain(host: Host, hook: "input" | "output", rules: string[]) {
  await nftLoad(host, chainRuleset(hook, rules));
}

async function nftClear(host: Host) {
  await nftLoad(host, DROP_TABLE);
}

/** Packet counts of the rules tagged `comment "<tag>"` in our table, by tag. */
async function nftCounters(host: Host): Promise<Record<string, number>> {
  const { stdout } = await host.exec([NFT, "list", "table", ...TABLE.split(" ")], {
    timeoutMs: 5000,
  });
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/counter packets (\d+) bytes \d+.*comment "([^"]+)"/g)) {
    out[m[2] as string] = Number(m[1]);
  }
  return out;
}

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

/**
 * nft match for an original (not REPAIR, not HISTORY) one-fragment TEXT record from a nick of
 * 2 bytes whose text starts with `prefix`.
 */
function originalMessageWith(prefix: string): string {
  const bits = Buffer.byteLength(prefix) * 8;
  return [
    "meta l4proto udp",
    "@th,64,16 0xff4d", // magic
    "@th,88,8 0x06", // RECORD
    "@th,96,8 0x00", // flags: no REPAIR, no HISTORY
    "@th,200,16 0x0001", // stream 0, kind TEXT (offsets 17, 18)
    "@th,232,8 0x00", // no kind runs (offset 21)
    "@th,264,8 0x02", // nick length 2 (offset 25)
    `@th,336,${bits} 0x${hex(prefix)}`, // text (offset 34)
  ].join(" ");
}
/** Any NACK frame (STREAM_NACK, wire 1.1). */
const NACK_MATCH = "meta l4proto udp @th,64,16 0xff4d @th,88,8 0x14";
/** Any RECORD frame with the REPAIR flag. */
const REPAIR_MATCH = "meta l4proto udp @th,64,16 0xff4d @th,88,8 0x06 @th,96,8 & 0x02 == 0x02";

const lines = (nick: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${nick} ${String(i + 1).padStart(4, "0")}`);

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describeLab("reliability on five lab hosts with nftables loss", () => {
  let lab: Lab;
  afterAll(() => lab?.destroy());
  const hosts = async () => {
    lab ??= await createLab(5);
    const hs = lab.hosts as [Host, Host, Host, Host, Host];
    await Promise.all(hs.map(async (h) => Promise.all([h.clearLoss(), nftClear(h)])));
    return hs;
  };
  const cleanup = async () => {
    if (!lab) return;
    await stopAll();
    await Promise.all(lab.hosts.map(async (h) => Promise.all([h.clearLoss(), nftClear(h)])));
  };
  /** A test (60 s) after which the hosts lose no more and run nothing, pass or fail. */
  const labTest = (name: string, fn: () => Promise<void>) =>
    test(name, async () => {
      try {
        await fn();
      } finally {
        await cleanup();
      }
    }, 60_000);

  /** Listeners rx1, rx2, … on `rxHosts`: `-n rxN` and then `rxArgs` (--listen --json …). */
  const listeners = (rxHosts: Host[], room: string[], rxArgs: string[]) =>
    rxHosts.map((h, i) => h.spawn([...MCCHAT, ...room, "-n", `rx${i + 1}`, ...rxArgs]));

  /** Listeners on `rxHosts` and the sender "tx" (stdin open) on `txHost`, seen by every listener. */
  async function txAndListeners(txHost: Host, rxHosts: Host[], room: string[], rxArgs: string[]) {
    const receivers = listeners(rxHosts, room, rxArgs);
    const tx = txHost.spawn([...MCCHAT, ...room, "-n", "tx"], { stdin: "pipe" });
    const all = [...receivers, tx];
    await waitForJoins(
      receivers.map((rx) => [rx, ["tx"]]),
      10_000,
      "every receiver sees tx join",
      all,
    );
    return { receivers, tx, all };
  }

  /**
   * Two senders, 1,000 lines each, three listeners with `loss` % random loss on input.
   * Returns the receivers and senders after everything has ended.
   */
  async function twoSendersThreeListeners(port: number, loss: number) {
    const [h0, h1, h2, h3, h4] = await hosts();
    const room = ["-y", "-p", String(port), "--stats"];
    const N = 1000;
    const receivers = listeners([h2, h3, h4], room, [
      "--listen",
      "--json",
      "--count",
      String(2 * N),
      "--timeout",
      "45",
    ]);
    await Promise.all([h2, h3, h4].map((h) => h.setLoss(loss)));
    const senders = [h0, h1].map((h, i) =>
      h.spawn([...MCCHAT, ...room, "-n", `s${i + 1}`], { stdin: "pipe" }),
    );
    const all = [...receivers, ...senders];
    await waitForJoins(
      receivers.map((rx) => [rx, ["s1", "s2"]]),
      15_000,
      "every receiver sees both senders join",
      all,
    );
    const t0 = Date.now();
    const sent = { s1: lines("s1", N), s2: lines("s2", N) };
    senders[0]?.write(`${sent.s1.join("\n")}\n`);
    senders[1]?.write(`${sent.s2.join("\n")}\n`);
    for (const s of senders) s.end();
    // A sender exits after its data went quiet (no NACK for 1 s, at most 15 s), with BYE.
    for (const s of senders) expect(await s.waitForExit(30_000)).toBe(0);
    // After a BYE, a missing tail gets 0.5 s for repairs, then it is reported lost; so
    // every receiver has delivered or reported everything well within 5 s.
    await waitFor(
      () => receivers.every((rx) => rx.exited),
      5000,
      "receivers done (--count reached)",
    ).catch(() => {});
    const seconds = (Date.now() - t0) / 1000;
    for (const rx of receivers) await rx.stop(2000); // SIGTERM: exits 0, prints --stats
    return { receivers, senders, sent, seconds };
  }

  /** Per sender nick: delivered texts (in output order) and lost counts at `rx`. */
  function perSender(rx: Proc) {
    const ev = events(rx);
    const out: Record<string, { texts: string[]; lost: number; ids: Set<string> }> = {};
    for (const nick of ["s1", "s2"]) {
      const id = joinedId(rx, nick);
      const texts = textsFrom(rx, id);
      const lost = sum(
        ev.filter((e) => e.type === "lost" && e.id === id).map((e) => e.count as number),
      );
      const ids = new Set(ev.filter((e) => e.nick === nick).map((e) => e.id as string));
      out[nick] = { texts, lost, ids };
    }
    return out;
  }

  function report(label: string, r: Awaited<ReturnType<typeof twoSendersThreeListeners>>) {
    const rx = r.receivers.map(statsOf);
    const tx = r.senders.map(statsOf);
    console.log(
      `${label}: ${r.seconds.toFixed(1)} s; receivers delivered ${rx.map((s) => s.received).join("/")}, ` +
        `lost ${rx.map((s) => s.lost).join("/")}, NACKs sent ${rx.map((s) => s.nacksSent).join("/")}, ` +
        `suppressed ${rx.map((s) => s.suppressed).join("/")}, repairs received ${rx.map((s) => s.repaired).join("/")}, ` +
        `duplicates ${rx.map((s) => s.duplicates).join("/")}; senders repairs sent ${tx.map((s) => s.repairsSent).join("/")}`,
    );
    return { rx, tx };
  }

  labTest(
    "20% loss at every listener: all 2,000 messages exactly once, in order per sender; listeners NACK",
    async () => {
      const r = await twoSendersThreeListeners(26_101, 20);
      const { rx, tx } = report("20% loss", r);
      for (const [i, p] of r.receivers.entries()) {
        const shown = messages(p).length;
        if (shown !== (rx[i] as Stats).received) {
          // Seen ~1 run in 15: the session delivered everything but the process exited with
          // stdout still queued (a slow reader; a pipe holds 64 KiB). A product bug, not loss.
          throw new Error(
            `rx${i + 1}: --stats says ${(rx[i] as Stats).received} delivered but stdout has ${shown} messages (output lost at exit)`,
          );
        }
        const per = perSender(p);
        for (const nick of ["s1", "s2"] as const) {
          expect(per[nick]?.ids.size).toBe(1); // one instance per sender
          expect(per[nick]?.texts).toEqual(r.sent[nick]); // all, once, in order
          expect(per[nick]?.lost).toBe(0);
        }
        expect(events(p).filter((e) => e.type === "lost")).toEqual([]);
        expect(messages(p)).toHaveLength(2000);
        expect(p.exitCode).toBe(0);
        const s = rx[i] as Stats;
        expect(s.received).toBe(2000);
        expect(s.lost).toBe(0);
        expect(s.sent).toBe(0);
        // A --listen member NACKs (and so gets repaired) like any other.
        expect(s.nacksSent).toBeGreaterThan(0);
        expect(s.repaired).toBeGreaterThan(0);
      }
      for (const s of tx) {
        expect(s.sent).toBe(1000);
        expect(s.repairsSent).toBeGreaterThan(0);
      }
    },
  );

  labTest(
    "40% loss at every listener: every message delivered once in order, or reported lost",
    async () => {
      const r = await twoSendersThreeListeners(26_102, 40);
      const { rx } = report("40% loss", r);
      for (const [i, p] of r.receivers.entries()) {
        const per = perSender(p);
        for (const nick of ["s1", "s2"] as const) {
          const got = per[nick] as { texts: string[]; lost: number };
          const sent = r.sent[nick];
          // In order and never a duplicate: strictly increasing positions in what was sent.
          const pos = got.texts.map((t) => sent.indexOf(t));
          expect(pos.every((x) => x >= 0)).toBe(true);
          expect(pos.every((x, k) => k === 0 || x > (pos[k - 1] as number))).toBe(true);
          // Nothing silently missing.
          expect(got.texts.length + got.lost).toBe(1000);
        }
        const s = rx[i] as Stats;
        expect(s.received + s.lost).toBe(2000);
        expect(s.nacksSent).toBeGreaterThan(0);
      }
    },
  );

  labTest("the dropped last message of a burst is repaired within 1 s", async () => {
    const [h0, , h2, h3] = await hosts();
    const port = "26103";
    const room = ["-y", "-p", port, "--stats"];
    const BURSTS = 5;
    const rxArgs = ["--listen", "--json", "--count", String(20 * BURSTS), "--timeout", "30"];
    // h2 loses exactly the original of each burst's last line; h3 loses nothing.
    await nft(h2, [`${originalMessageWith("TAILMARK")} counter drop comment "tail"`]);
    const { receivers, tx } = await txAndListeners(h0, [h2, h3], room, rxArgs);
    const [lossy, clean] = receivers as [Proc, Proc];
    const latencies: number[] = [];
    const baseline: number[] = [];
    for (let b = 1; b <= BURSTS; b++) {
      const burst = Array.from({ length: 19 }, (_, i) => `burst ${b} line ${i + 1}`);
      const last = `TAILMARK ${b}`;
      const at: Record<string, number> = {};
      const seen = (p: Proc) => messages(p).find((e) => e.text === last);
      const watch = async (p: Proc, key: string) => {
        await p.waitForLine(new RegExp(`"text":"${last}"`), 5000);
        at[key] = Date.now();
      };
      const w = Promise.all([watch(lossy, "lossy"), watch(clean, "clean")]);
      tx.write(`${[...burst, last].join("\n")}\n`);
      await w;
      const sentAt = Date.parse((seen(lossy) as JsonEvent).time);
      latencies.push((at.lossy as number) - sentAt);
      baseline.push((at.clean as number) - sentAt);
      await Bun.sleep(300);
    }
    tx.end();
    expect(await tx.waitForExit(20_000)).toBe(0);
    for (const p of [lossy, clean]) expect(await p.waitForExit(5000)).toBe(0);
    const dropped = (await nftCounters(h2)).tail;
    console.log(
      `tail repair: ${BURSTS} bursts of 20, last line dropped at one receiver (${dropped} dropped); ` +
        `latency send->JSON line ${latencies.join(", ")} ms (max ${Math.max(...latencies)}); ` +
        `clean receiver ${baseline.join(", ")} ms`,
    );
    expect(dropped).toBe(BURSTS); // the rule really dropped each last line, once
    for (const ms of latencies) expect(ms).toBeLessThan(1000);
    // Everything arrived once, in order, at both receivers.
    const expected = Array.from({ length: BURSTS }, (_, k) => [
      ...Array.from({ length: 19 }, (_, i) => `burst ${k + 1} line ${i + 1}`),
      `TAILMARK ${k + 1}`,
    ]).flat();
    for (const p of [lossy, clean]) {
      expect(messages(p).map((e) => e.text)).toEqual(expected);
      expect(events(p).filter((e) => e.type === "lost")).toEqual([]);
    }
    const s = statsOf(lossy);
    expect(s.nacksSent).toBeGreaterThanOrEqual(BURSTS);
    expect(s.repaired).toBeGreaterThanOrEqual(BURSTS);
    expect(statsOf(tx).repairsSent).toBeGreaterThanOrEqual(BURSTS);
  });

  labTest(
    "a loss shared by all receivers costs at most one NACK per receiver and 1.2 repairs on average",
    async () => {
      const [h0, , h2, h3, h4] = await hosts();
      const port = "26104";
      const room = ["-y", "-p", port, "--stats"];
      const ROUNDS = 15;
      const rxHosts = [h2, h3, h4];
      // Each receiver drops the original of every "DROPME" line: a loss all three share.
      await Promise.all(
        rxHosts.map((h) =>
          nft(h, [`${originalMessageWith("DROPME")} counter drop comment "drop"`]),
        ),
      );
      // On the sender's host: NACKs in, repairs out.
      await nft(h0, [`${NACK_MATCH} counter comment "nack"`]);
      await nftChain(h0, "output", [`${REPAIR_MATCH} counter comment "repair"`]);
      const rxArgs = ["--listen", "--json", "--count", String(3 * ROUNDS), "--timeout", "30"];
      const { receivers, tx, all } = await txAndListeners(h0, rxHosts, room, rxArgs);
      const expected: string[] = [];
      for (let k = 1; k <= ROUNDS; k++) {
        // The line after the dropped one reveals the gap at all three at the same moment.
        const round = [`before ${k}`, `DROPME ${k}`, `after ${k}`];
        expected.push(...round);
        tx.write(`${round.join("\n")}\n`);
        await waitFor(
          () => receivers.every((rx) => messages(rx).some((e) => e.text === `DROPME ${k}`)),
          3000,
          `round ${k}: every receiver gets DROPME ${k} repaired`,
          all,
        );
        await Bun.sleep(250); // let late NACKs or repairs of this round show up
      }
      tx.end();
      expect(await tx.waitForExit(20_000)).toBe(0);
      for (const rx of receivers) expect(await rx.waitForExit(5000)).toBe(0);
      const drops = await Promise.all(rxHosts.map(async (h) => (await nftCounters(h)).drop));
      const wire = await nftCounters(h0);
      const rxStats = receivers.map(statsOf);
      const txStats = statsOf(tx);
      const nacksStats = sum(rxStats.map((s) => s.nacksSent));
      const perLoss = (n: number) => n / ROUNDS;
      console.log(
        `shared loss: ${ROUNDS} losses (dropped at receivers: ${drops.join("/")}); ` +
          `NACKs on the wire ${wire.nack} (${perLoss(wire.nack ?? 0).toFixed(2)}/loss), ` +
          `per --stats ${rxStats.map((s) => s.nacksSent).join("+")} = ${nacksStats} (${perLoss(nacksStats).toFixed(2)}/loss), ` +
          `suppressed ${rxStats.map((s) => s.suppressed).join("+")}; ` +
          `repairs on the wire ${wire.repair} (${perLoss(wire.repair ?? 0).toFixed(2)}/loss), ` +
          `per --stats ${txStats.repairsSent} (${perLoss(txStats.repairsSent).toFixed(2)}/loss)`,
      );
      expect(drops).toEqual([ROUNDS, ROUNDS, ROUNDS]);
      for (const rx of receivers) {
        expect(messages(rx).map((e) => e.text)).toEqual(expected);
        expect(events(rx).filter((e) => e.type === "lost")).toEqual([]);
      }
      expect(wire.nack).toBe(nacksStats);
      expect(wire.repair).toBe(txStats.repairsSent);
      // A room of 4 has no NACK back-off (backoff.ts): each receiver may NACK the loss at
      // once (up to 3 a loss; with the 10-60 ms back-off of 0.4 it was at most 1.5), and the
      // sender still repairs it once.
      expect(perLoss(nacksStats)).toBeLessThanOrEqual(rxHosts.length);
      expect(perLoss(txStats.repairsSent)).toBeLessThanOrEqual(1.2);
    },
  );

  // In a room of 4 there is no NACK back-off, so the test above does not show suppression
  // (nor did it with 0.4's 10-60 ms back-off: a repair came back within ~1 ms of the first
  // NACK, 1.27 NACKs per loss with onNackHeard disabled). Here the sender never
  // hears a NACK, so every retry round is a shared loss that only suppression keeps at one NACK.
  labTest(
    "NACK suppression: a loss the sender never repairs costs one NACK per retry round, then it is reported lost",
    async () => {
      const [h0, , h2, h3, h4] = await hosts();
      const port = "26105";
      const room = ["-y", "-p", port, "--stats"];
      const rxHosts = [h2, h3, h4];
      await Promise.all(
        rxHosts.map((h) => nft(h, [`${originalMessageWith("NEVER")} counter drop comment "drop"`])),
      );
      // The sender's host counts the NACKs, then drops them: nothing is ever repaired.
      await nft(h0, [`${NACK_MATCH} counter comment "nack"`, `${NACK_MATCH} drop`]);
      const rxArgs = ["--listen", "--json", "--timeout", "20"];
      const { receivers, tx, all } = await txAndListeners(h0, rxHosts, room, rxArgs);
      const t0 = Date.now();
      tx.write("before\nNEVER repaired\nafter\n");
      // 20 attempts at 150-225 ms: ~4 s, then "lost" and "after" is delivered.
      await waitFor(
        () =>
          receivers.every(
            (rx) => messages(rx).length >= 2 && events(rx).some((e) => e.type === "lost"),
          ),
        10_000,
        "every receiver reports the loss and delivers the next message",
        all,
      );
      const giveUp = (Date.now() - t0) / 1000;
      const order = events(receivers[0] as Proc)
        .filter((e) => e.type === "message" || e.type === "lost")
        .map((e) => (e.type === "lost" ? `lost ${e.count}` : e.text));
      await Bun.sleep(300); // anything more (another NACK, a duplicate report) would show now
      for (const rx of receivers) await rx.stop(2000); // SIGTERM: exits 0, prints --stats
      const wire = (await nftCounters(h0)).nack ?? 0;
      const rxStats = receivers.map(statsOf);
      const attempts = 20; // WINDOW_DEFAULTS.maxRetries: attempts, ours or heard
      console.log(
        `unrepairable shared loss: reported lost after ${giveUp.toFixed(1)} s; NACKs on the wire ${wire} ` +
          `for ${attempts} attempts (${(wire / attempts).toFixed(2)} per round), per --stats ` +
          `${rxStats.map((s) => s.nacksSent).join("+")}, suppressed ${rxStats.map((s) => s.suppressed).join("+")}; events at rx1: ${order.join(", ")}`,
      );
      for (const rx of receivers) {
        const ev = events(rx).filter((e) => e.type === "message" || e.type === "lost");
        // The loss is reported once; its position among the messages is not checked (the
        // session emits a batch's messages before its "lost" event).
        expect(ev.map((e) => (e.type === "lost" ? `lost ${e.count}` : e.text)).sort()).toEqual([
          "after",
          "before",
          "lost 1",
        ]);
      }
      expect(sum(rxStats.map((s) => s.nacksSent))).toBe(wire);
      for (const s of rxStats) expect(s.lost).toBe(1);
      expect(wire).toBeGreaterThanOrEqual(attempts - 2);
      expect(wire / attempts).toBeLessThanOrEqual(1.5);
      tx.end();
      expect(await tx.waitForExit(20_000)).toBe(0);
    },
  );
});
