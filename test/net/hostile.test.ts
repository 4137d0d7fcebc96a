/**
 * Hostile input in an open room (issue 8), between lab hosts. The attacker on h0 runs
 * test/helpers/hostile.ts, which sends to the room's companion port (frames built with
 * src/protocol's encode).
 *
 * (a) Forged control frames carrying a victim's instance id (taken from the listener's join
 *     event), sent from another host: BYE, GONE of its next seqs, HEARTBEAT with tail +
 *     0x7FFFFFFF, MESSAGE at tail + 1. The listener must keep the victim in the room and show
 *     its later real messages, none lost, and never the injected text.
 *       h0 attacker · h1 victim (pipe member, --json) · h2 listener (--listen --json --stats)
 *
 * (b) Floods: 100,000 random datagrams plus truncated/lying frames, fragment bombs, HELLO/
 *     HEARTBEAT from 100,000 ids, NACK floods (32 x 65,535 naming the victim), HISTORY_REQ
 *     floods (count 65,535). The members under attack keep running and delivering (a talker on
 *     h2 says a line every 200 ms, the victim too: all must arrive), their peak RSS stays under
 *     RSS_BOUND_MB, and their CPU returns to idle (< 10 % of a core over 1 s) after the flood.
 *     Amplification = UDP bytes the room sent (h1 + h2 output, nftables, minus the chatter
 *     measured before the attack) / UDP bytes the attacker sent; printed, not asserted.
 *       h0 attacker · h1 listener L (--listen --json) + victim V (pipe, --json) · h2 talker T
 *
 * Each test records a row (checks failed, peak RSS, amplification); the table is printed at
 * the end and written to $MCCHAT_HOSTILE_REPORT if set.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { events, type JsonEvent, joinedId, textsFrom, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  canCreateLab,
  type Host,
  LAB_SKIP_REASON,
  mcchatCommand,
  type Proc,
  ROOT,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { comm, countOutput, cpuShare, outputBytes, RssWatch } from "../helpers/victim-monitor.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.1";
const MCCHAT = mcchatCommand();
const HOSTILE = [process.execPath, join(ROOT, "test/helpers/hostile.ts")];
/**
 * Stated bound on a member's peak RSS under any flood. Measured: idle 45-60 MB; 160-215 MB at
 * the peak of the 6 s, 25 MB/s fragment bomb below with bounded reassembly (274-303 MB without).
 */
const RSS_BOUND_MB = 256;
/** A member above this is killed at once (the machine's safety, not the test's bound). */
const KILL_ABOVE_MB = 1536;
/** "Idle": below this share of one core over 1 s. */
const IDLE_CPU = 0.1;

// ---- results table ---------------------------------------------------------------------------

interface Row {
  attack: string;
  failed: string[];
  peakRssMB?: number;
  amplification?: number;
  attackerBytes?: number;
  roomBytes?: number;
  notes: string[];
}
const rows: Row[] = [];
afterAll(() => {
  if (rows.length === 0) return;
  const lines = [
    "attack | verdict | peak RSS MB (L/V) | amplification (room bytes / attacker bytes) | notes",
    ...rows.map(
      (r) =>
        `${r.attack} | ${r.failed.length ? `FAIL: ${r.failed.join("; ")}` : "pass"} | ${
          r.peakRssMB?.toFixed(0) ?? "-"
        } | ${
          r.amplification === undefined
            ? "-"
            : `x${r.amplification.toFixed(2)} (${r.roomBytes} / ${r.attackerBytes})`
        } | ${r.notes.join("; ")}`,
    ),
  ];
  console.log(`\nhostile input results:\n${lines.join("\n")}`);
  const out = process.env.MCCHAT_HOSTILE_REPORT;
  if (out) writeFileSync(out, `${lines.join("\n")}\n`);
});

/**
 * A row for `attack` and soft checks: every failed one is listed in the row and the test fails
 * at the end (done) if any did; an exception on the way is recorded in the row too.
 */
function recorded(
  attack: string,
  body: (row: Row, c: Checker) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const row: Row = { attack, failed: [], notes: [] };
    rows.push(row);
    const c: Checker = {
      check(ok, what) {
        if (!ok) row.failed.push(what);
      },
      done() {
        expect(row.failed).toEqual([]);
      },
    };
    try {
      await body(row, c);
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0] as string;
      if (row.failed.length === 0) row.failed.push(`error: ${msg}`);
      throw e;
    }
  };
}
interface Checker {
  check(ok: boolean, what: string): void;
  done(): void;
}

// ---- helpers -----------------------------------------------------------------------------------

const member = (host: Host, port: number, args: string[], stdin?: "pipe") =>
  host.spawn([...MCCHAT, "-y", "-g", GROUP, "-p", String(port), "--timeout", "90", ...args], {
    stdin,
  });

/** Runs one attack from `host` to completion (bounded); its JSON summary. */
async function attack(
  host: Host,
  port: number,
  name: string,
  extra: string[] = [],
): Promise<{ datagrams: number; bytes: number; seconds: number; complete: boolean }> {
  const r = await host.exec([...HOSTILE, GROUP, String(port), name, ...extra], {
    timeoutMs: 40_000,
  });
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

/** Polls until `cond()` holds or `ms` pass; whether it held (for soft checks). */
async function eventually(cond: () => boolean, ms: number): Promise<boolean> {
  try {
    await waitFor(cond, ms, "");
    return true;
  } catch {
    return false;
  }
}

const leftEvents = (p: Proc, id: string) =>
  events(p).filter((e) => e.type === "leave" && e.id === id);
const lostEvents = (p: Proc, id: string) =>
  events(p).filter((e) => e.type === "lost" && e.id === id);
const messagesFrom = (p: Proc, id: string): JsonEvent[] =>
  events(p).filter((e) => e.type === "message" && e.id === id);

const skipReason = canCreateLab() ? "" : ` [skipped: ${LAB_SKIP_REASON}]`;

// ---- (a) forged control frames ---------------------------------------------------------------

describe.skipIf(!canCreateLab())(`(a) forged frames with a victim's id${skipReason}`, () => {
  const hosts = sharedLab(3);
  let nextPort = 26_100;

  /**
   * Victim on h1, listener on h2, both ready; the victim has said "sync" and the listener
   * showed it: returns the victim's id and tail (the seq of "sync").
   */
  async function room() {
    const [h0, h1, h2] = await hosts();
    const port = nextPort;
    nextPort += 2;
    const listener = member(h2, port, ["--listen", "--json", "--stats"]);
    const victim = member(h1, port, ["-n", "victim", "--json"], "pipe");
    await waitFor(
      () => joinedId(listener, "victim") !== undefined,
      10_000,
      "the listener sees the victim join",
      [listener, victim],
    );
    const id = joinedId(listener, "victim") as string;
    victim.write("sync\n");
    await waitFor(
      () => textsFrom(listener, id).includes("sync"),
      10_000,
      "the listener shows the victim's sync",
      [listener, victim],
    );
    const tail = messagesFrom(listener, id).find((e) => e.text === "sync")?.seq as number;
    return { h0, port, listener, victim, id, tail };
  }

  /** Runs `name` from h0 against the victim (its id and tail), with `extra` options. */
  const forge = (r: Awaited<ReturnType<typeof room>>, name: string, extra: string[] = []) =>
    attack(r.h0, r.port, name, ["--victim", r.id, "--tail", String(r.tail), ...extra]);

  /** The victim says `lines`; whether the listener shows all of them (bounded). */
  async function victimSays(
    r: Awaited<ReturnType<typeof room>>,
    lines: string[],
  ): Promise<boolean> {
    for (const l of lines) r.victim.write(`${l}\n`);
    return eventually(() => lines.every((l) => textsFrom(r.listener, r.id).includes(l)), 6_000);
  }

  test(
    "forged BYE from another host does not remove the member",
    recorded("forged BYE", async (row, c) => {
      const r = await room();
      await forge(r, "bye");
      const lines = ["after-bye-1", "after-bye-2", "after-bye-3"];
      c.check(await victimSays(r, lines), "the victim's later messages are not all shown");
      c.check(leftEvents(r.listener, r.id).length === 0, "the listener showed the victim leave");
      row.notes.push(`leave events: ${leftEvents(r.listener, r.id).length}`);
      c.done();
    }),
    40_000,
  );

  test(
    "forged GONE from another host does not erase the member's messages",
    recorded("forged GONE (tail+1..+5)", async (row, c) => {
      const r = await room();
      await forge(r, "gone");
      const lines = Array.from({ length: 5 }, (_, i) => `after-gone-${i + 1}`);
      c.check(await victimSays(r, lines), "the victim's next 5 messages are not all shown");
      const lost = lostEvents(r.listener, r.id);
      c.check(lost.length === 0, `lost events for the victim: ${JSON.stringify(lost)}`);
      row.notes.push(
        `shown ${lines.filter((l) => textsFrom(r.listener, r.id).includes(l)).length}/5`,
      );
      c.done();
    }),
    40_000,
  );

  test(
    "forged HEARTBEAT with tail + 0x7FFFFFFF: no lost storm, later messages arrive",
    recorded("forged HEARTBEAT tail+0x7FFFFFFF", async (row, c) => {
      const r = await room();
      await forge(r, "tailjump");
      const lines = ["after-jump-1", "after-jump-2", "after-jump-3"];
      c.check(await victimSays(r, lines), "the victim's later messages are not all shown");
      const lost = lostEvents(r.listener, r.id);
      c.check(lost.length === 0, `lost events for the victim (count ${lost.map((e) => e.count)})`);
      await r.listener.stop(3000);
      const stats = /NACKs sent (\d+)/.exec(r.listener.stderr);
      row.notes.push(`listener NACKs sent: ${stats?.[1] ?? "?"}`);
      c.check(Number(stats?.[1] ?? 0) <= 20, `the listener sent ${stats?.[1]} NACKs`);
      c.done();
    }),
    40_000,
  );

  test(
    "injected MESSAGE at the victim's tail + 1 is not shown; the real one is",
    recorded("injected MESSAGE at tail+1", async (row, c) => {
      const r = await room();
      await forge(r, "inject", ["--text", "FORGED-by-h0"]);
      c.check(
        await victimSays(r, ["real-next"]),
        "the victim's real message with that seq is not shown",
      );
      const texts = events(r.listener)
        .filter((e) => e.type === "message")
        .map((e) => e.text);
      c.check(!texts.includes("FORGED-by-h0"), "the injected text was shown");
      row.notes.push(`listener showed: ${JSON.stringify(texts.slice(1))}`);
      c.done();
    }),
    40_000,
  );
});

// ---- (b) floods --------------------------------------------------------------------------------

describe.skipIf(!canCreateLab())(`(b) floods against live members${skipReason}`, () => {
  const hosts = sharedLab(3);
  let nextPort = 26_200;

  /**
   * L (listener) and V (victim, chatting) on h1, T (talker) on h2; everyone sees everyone; V has
   * said 100 lines of 1,000 characters (its repair buffer and every member's history hold them).
   */
  async function room() {
    const [h0, h1, h2] = await hosts();
    const port = nextPort;
    nextPort += 2;
    const L = member(h1, port, ["--listen", "--json", "-n", "listener"]);
    const V = member(h1, port, ["-n", "victim", "--json"], "pipe");
    const T = member(h2, port, ["-n", "talker", "--json"], "pipe");
    const all = [L, V, T];
    await waitFor(
      () =>
        ["victim", "talker"].every((n) => joinedId(L, n)) &&
        joinedId(V, "talker") !== undefined &&
        joinedId(T, "victim") !== undefined,
      10_000,
      "everyone sees everyone join",
      all,
    );
    const vid = joinedId(T, "victim") as string;
    const tid = joinedId(V, "talker") as string;
    const fill = Array.from({ length: 100 }, (_, i) => `fill-${i}-${"x".repeat(1000)}`);
    V.write(`${fill.join("\n")}\n`);
    await waitFor(
      () => textsFrom(T, vid).length >= 100 && textsFrom(L, vid).length >= 100,
      10_000,
      "the fill lines reach T and L",
      all,
    );
    for (const p of [L, V]) expect(comm(p.pid)).toMatch(/^bun/); // the pid we watch is mcchat (bun)
    return { h0, h1, h2, port, L, V, T, all, vid, tid };
  }

  /**
   * The flood scenario: chatter every 200 ms from T and V, RSS watch on L and V, output
   * counters on every host, the attacks, then: idle CPU, all chatter delivered, bounded RSS.
   */
  async function flood(row: Row, c: Checker, attacks: [string, string[]][]): Promise<void> {
    const label = row.attack;
    const r = await room();
    const { L, V, T } = r;
    await countOutput(r.h0, r.port + 1);
    await countOutput(r.h1);
    await countOutput(r.h2);

    let n = 0;
    const said: { t: string[]; v: string[] } = { t: [], v: [] };
    const chatter = setInterval(() => {
      n++;
      for (const [p, list, tag] of [
        [T, said.t, "t"],
        [V, said.v, "v"],
      ] as const) {
        if (p.exited) continue;
        const line = `${tag}-${n}`;
        list.push(line);
        try {
          p.write(`${line}\n`);
        } catch {}
      }
    }, 200);
    const watch = new RssWatch([L, V], KILL_ABOVE_MB * 2 ** 20);
    try {
      // Baseline: what the room sends while chatting, before the attack.
      const room0 = (await outputBytes(r.h1)) + (await outputBytes(r.h2));
      const b0 = performance.now();
      await Bun.sleep(2000);
      const room1 = (await outputBytes(r.h1)) + (await outputBytes(r.h2));
      const baselineRate = (room1 - room0) / ((performance.now() - b0) / 1000);

      const attacker0 = await outputBytes(r.h0);
      const a0 = performance.now();
      for (const [name, extra] of attacks) {
        const args = extra.map((a) => (a === "VICTIM" ? r.vid : a));
        const s = await attack(r.h0, r.port, name, args);
        row.notes.push(`${name}: ${s.datagrams} datagrams in ${s.seconds} s`);
        if (watch.killed.size > 0) break;
      }
      // The room's answers (repairs, history) may trail the attack: a 2 s measuring window.
      await Bun.sleep(2000);
      const attackerBytes = (await outputBytes(r.h0)) - attacker0;
      const roomBytes = (await outputBytes(r.h1)) + (await outputBytes(r.h2)) - room1;
      const window = (performance.now() - a0) / 1000;
      const net = Math.max(0, roomBytes - baselineRate * window);
      row.attackerBytes = attackerBytes;
      row.roomBytes = Math.round(net);
      row.amplification = attackerBytes > 0 ? net / attackerBytes : undefined;
      row.notes.push(
        `baseline ${Math.round(baselineRate)} B/s subtracted over ${window.toFixed(1)} s`,
      );

      // CPU back to idle: a 1 s sample below IDLE_CPU for both, within 10 s.
      let idle = false;
      let last: number[] = [];
      const i0 = performance.now();
      while (!idle && performance.now() - i0 < 10_000 && !L.exited && !V.exited) {
        last = await cpuShare([L.pid, V.pid]);
        idle = last.every((x) => Number.isFinite(x) && x < IDLE_CPU);
      }
      row.notes.push(
        `CPU after flood L ${(100 * (last[0] ?? 0)).toFixed(0)}% V ${(100 * (last[1] ?? 0)).toFixed(0)}%${
          idle ? ` (idle after ${((performance.now() - i0) / 1000).toFixed(1)} s)` : ""
        }`,
      );
      c.check(idle, "CPU did not return to idle within 10 s");

      // Still running and delivering: every chatter line so far arrives.
      clearInterval(chatter);
      c.check(!L.exited && !V.exited, `a member died (L ${L.exitCode}, V ${V.exitCode})`);
      const tLines = [...said.t];
      const vLines = [...said.v];
      const all = (p: Proc, id: string, lines: string[]) => {
        const got = new Set(textsFrom(p, id));
        return lines.every((l) => got.has(l));
      };
      const delivered = await eventually(
        () => all(L, r.tid, tLines) && all(V, r.tid, tLines) && all(T, r.vid, vLines),
        10_000,
      );
      const missing = (p: Proc, id: string, lines: string[]) => {
        const got = new Set(textsFrom(p, id));
        return lines.filter((l) => !got.has(l)).length;
      };
      c.check(
        delivered,
        `chatter missing: L ${missing(L, r.tid, tLines)}/${tLines.length} of T's, V ${missing(
          V,
          r.tid,
          tLines,
        )}/${tLines.length} of T's, T ${missing(T, r.vid, vLines)}/${vLines.length} of V's`,
      );
    } finally {
      clearInterval(chatter);
      watch.stop();
    }
    row.peakRssMB = Math.max(watch.peakMB(L), watch.peakMB(V));
    row.notes.push(
      `peak RSS L ${watch.peakMB(L).toFixed(0)} MB, V ${watch.peakMB(V).toFixed(0)} MB`,
    );
    c.check(watch.killed.size === 0, `killed above ${KILL_ABOVE_MB} MB RSS`);
    c.check(
      row.peakRssMB < RSS_BOUND_MB,
      `peak RSS ${row.peakRssMB.toFixed(0)} MB >= ${RSS_BOUND_MB} MB`,
    );
    console.log(`${label}: ${row.failed.length ? "FAIL" : "pass"}; ${row.notes.join("; ")}`);
    c.done();
  }

  /** Each flood: the test's name, its row in the results table, the attacks in order. */
  const floods: { name: string; row: string; attacks: [string, string[]][] }[] = [
    {
      name: "100,000 random datagrams, then truncated headers and lying lengths",
      row: "random 100k + truncated/lying 5k",
      attacks: [
        ["random", ["--count", "100000", "--rate", "20000"]],
        ["truncated", ["--count", "5000", "--rate", "10000"]],
      ],
    },
    {
      name: "fragment bombs: fragments 0..62 of 64 from 2,000 ids",
      row: "fragment bombs 2,000 ids x 63 x 1,200 B",
      attacks: [["fragbomb", ["--count", "2000", "--rate", "20000", "--max-seconds", "12"]]],
    },
    {
      name: "HELLO/HEARTBEAT flood from 100,000 made-up ids (tail 4095)",
      row: "HELLO/HEARTBEAT 100k ids",
      attacks: [["presence", ["--count", "100000", "--rate", "10000", "--max-seconds", "12"]]],
    },
    {
      name: "NACK flood: 32 ranges x 65,535 naming the victim",
      row: "NACK flood 25 x (32 x 65,535)",
      attacks: [["nack", ["--victim", "VICTIM", "--count", "25", "--rate", "5"]]],
    },
    {
      name: "NACK flood from announced requesters (each says HELLO first)",
      row: "NACK flood 25 x (HELLO + NACK 32 x 65,535)",
      attacks: [
        ["nack", ["--victim", "VICTIM", "--count", "25", "--rate", "10", "--announce", "1"]],
      ],
    },
    {
      name: "HISTORY_REQ flood: count 65,535",
      row: "HISTORY_REQ flood 25 x 65,535",
      attacks: [["history", ["--count", "25", "--rate", "5"]]],
    },
    {
      name: "HISTORY_REQ flood from announced requesters (each says HELLO first)",
      row: "HISTORY_REQ flood 25 x (HELLO + 65,535)",
      attacks: [["history", ["--count", "25", "--rate", "10", "--announce", "1"]]],
    },
  ];
  for (const f of floods) {
    test(
      f.name,
      recorded(f.row, (row, c) => flood(row, c, f.attacks)),
      60_000,
    );
  }
});
