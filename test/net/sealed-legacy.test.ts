/**
 * Issue 15, an encrypted room where not every member has upgraded (PROTOCOL.md §10.7, "Members
 * without FRESH"): mcchat 0.3.0 (built from its commit 844c2b5 by scripts/test.ts) and this build
 * (dist/mcchat), on lab hosts.
 *
 * 1. Each shows the other's lines; the current member shows the 0.3 member's line within a few
 *    seconds of joining. 0.3 cannot answer a FRESH challenge; it proves its run is live by naming
 *    ours (its STREAM_REPORT about our stream 0, sent as soon as it hears us).
 * 2. A capture of a 0.3 member's run, replayed to a member that joined after it, still shows
 *    nothing (the capture cannot name an id that did not exist yet), while a 0.3 member starting
 *    right after it is shown to that `--listen` member.
 *
 * 3. The same with mcchat 0.2.0 (built from f62c515), which reads only v1 frames: the current
 *    member holds its run unproven, but its v1 HELLO/HEARTBEAT make the current member send its
 *    v1 view's presence for a while (PROTOCOL.md §10.7, "mcchat 0.2"); 0.2 reports on it,
 *    which names us and proves its run. Each shows the other's lines, whoever starts first.
 * 4. A capture of a 0.2 run replayed to a later joiner shows nothing (it can only make the
 *    joiner send its v1 presence for a while); a live 0.2 member right after it is shown.
 *
 *   h0 198.18.0.1  the 0.3.0 (or 0.2.0) member(s)
 *   h1 198.18.0.2  the current member
 *   h2 198.18.0.3  captures (legacy_peer.py recv on P+1) and replays
 */
import { afterEach, describe, expect, test } from "bun:test";
import { events, messages, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  legacyPeerCommand,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import {
  OLD_NEWER_RE,
  OLD_STATS_RE,
  oldStatsOf,
  RELEASE_0_2,
  RELEASE_0_3,
  release,
} from "../helpers/old-mcchat.ts";
import { type Datagram, fromHost, legacyReceiver } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.183.1";
const LEGACY = legacyPeerCommand();
const PASS = "mixed room 混合 staple 5d1e";
const withPass = { MCCHAT_PASSPHRASE: PASS };
const OLD = release(RELEASE_0_3);
const V02 = release(RELEASE_0_2);
const CURRENT = implementations().find((i) => i.label !== "source");

/** The --stats counters of an encrypted room (both versions print this tail). */
function sealedStatsOf(p: Proc) {
  const re = /encrypted room: undecryptable (\d+), replayed (\d+), plaintext dropped (\d+)$/;
  const line = p.lines("stderr").find((l) => l.startsWith("mcchat: stats:") && re.test(l));
  if (!line) throw new Error(`no encrypted-room --stats line\n${p.describe()}`);
  const [undecryptable, replayed] = (re.exec(line) as RegExpExecArray).slice(1).map(Number) as [
    number,
    number,
  ];
  return { undecryptable, replayed };
}

const saidOnStderr = (p: Proc) => p.lines("stderr").filter((l) => !l.startsWith("mcchat: stats:"));

const skip = !OLD.available
  ? ` [skipped: ${OLD.skipReason}]`
  : !CURRENT?.available
    ? " [skipped: dist/mcchat not built]"
    : "";
const when = skip ? test.skip : test;

describe("an encrypted room with a mcchat 0.3.0 member", () => {
  describeLab(`0.3.0 and this build on three lab hosts${skip}`, () => {
    const lab = sharedLab(3);
    const mcchat = CURRENT?.argv ?? [];
    const old = OLD.argv;
    const room = (port: number) => ["-y", "-g", GROUP, "-p", String(port), "--json", "--stats"];
    const fromH = (cap: Proc, host: Host) =>
      cap.json<Datagram>().filter((d) => fromHost(host).test(d.from));

    when(
      "(1) each shows the other's lines; the current member shows the 0.3 member's line within a few seconds of joining",
      async () => {
        const [h0, h1] = await lab();
        const port = 26_800;
        const o = h0.spawn([...old, ...room(port), "-n", "old"], { env: withPass, stdin: "pipe" });
        // The 0.3 member starts first; then the current member joins.
        const n = h1.spawn([...mcchat, ...room(port), "-n", "new"], {
          env: withPass,
          stdin: "pipe",
        });
        const joined = performance.now();
        const all = [o, n];
        await waitFor(
          () => events(o).some((e) => e.type === "join" && e.nick === "new"),
          10_000,
          "the 0.3 member sees the new one",
          all,
        );
        o.write("from 0.3\n");
        let shownAt: number | undefined;
        await waitFor(
          () => {
            if (messages(n).some((m) => m.text === "from 0.3")) shownAt = performance.now();
            return shownAt !== undefined;
          },
          10_000,
          "the current member shows the 0.3 member's line",
          all,
        );
        n.write("from 0.4\n");
        await waitFor(
          () => messages(o).some((m) => m.text === "from 0.4"),
          10_000,
          "the 0.3 member shows the current member's line",
          all,
        );
        o.end();
        n.end();
        expect(await o.waitForExit(10_000)).toBe(0);
        expect(await n.waitForExit(10_000)).toBe(0);
        const delay = (shownAt as number) - joined;
        expect(delay).toBeLessThan(3000);
        expect(messages(n).map((m) => [m.nick, m.text])).toEqual([["old", "from 0.3"]]);
        expect(messages(o).map((m) => [m.nick, m.text])).toEqual([["new", "from 0.4"]]);
        expect(events(n).some((e) => e.type === "join" && e.nick === "old")).toBe(true);
        expect(saidOnStderr(n)).toEqual([]);
        expect(sealedStatsOf(n).replayed).toBe(0);
        console.log(
          `mixed encrypted room: the current member showed the 0.3 member's line ${Math.round(delay)} ms after it started`,
        );
      },
      40_000,
    );

    when(
      "(2) a captured 0.3 run replayed to a later joiner shows nothing; a live 0.3 member right after it is shown",
      async () => {
        const [h0, h1, h2] = await lab();
        const port = 26_810;
        const cap = await legacyReceiver(h2, GROUP, port + 1, ["--count", "0", "--timeout", "60"]);
        const secret = "wire the money to mallory";
        // A 0.3 boss speaks beside a 0.3 colleague (so its run reports on someone, as a real
        // room's would); an outsider on h2 captures it all; both leave.
        const mate = h0.spawn([...old, ...room(port), "--listen", "-n", "mate"], { env: withPass });
        const boss = h0.spawn([...old, ...room(port), "-n", "boss"], {
          env: withPass,
          stdin: "pipe",
        });
        await waitFor(
          () => events(mate).some((e) => e.type === "join" && e.nick === "boss"),
          10_000,
          "the 0.3 members see each other",
          [mate, boss],
        );
        boss.write(`${secret}\n`);
        await waitFor(() => messages(mate).length > 0, 10_000, "the line went out", [mate, boss]);
        boss.end();
        expect(await boss.waitForExit(10_000)).toBe(0);
        await mate.stop(3000);
        await waitFor(() => fromH(cap, h0).length >= 4, 5000, "the capture holds the runs", [cap]);
        const captured = fromH(cap, h0).map((d) => d.hex);

        // Later, a current member joins (--listen); then the outsider replays it all.
        const lis = h1.spawn([...mcchat, ...room(port), "--listen", "-n", "late"], {
          env: withPass,
        });
        await waitFor(() => fromH(cap, h1).length > 0, 10_000, "the late joiner is on the wire", [
          lis,
        ]);
        await h2.exec([
          ...LEGACY,
          "send",
          GROUP,
          String(port + 1),
          ...captured.flatMap((x) => ["--hex", x]),
        ]);
        await waitFor(
          () => fromH(cap, h2).length >= captured.length,
          5000,
          "the capture holds the replay",
          [lis, cap],
        );

        // A real 0.3 member starts right after the replay and speaks.
        const live = h0.spawn([...old, ...room(port), "-n", "live"], {
          env: withPass,
          stdin: "pipe",
        });
        await waitFor(
          () => events(live).some((e) => e.type === "join" && e.nick === "late"),
          10_000,
          "the live 0.3 member hears the late joiner",
          [lis, live],
        );
        live.write("live and well\n");
        await waitFor(
          () => messages(lis).some((m) => m.text === "live and well"),
          10_000,
          "the live 0.3 member's line at the late joiner",
          [lis, live, cap],
        );
        live.end();
        expect(await live.waitForExit(10_000)).toBe(0);
        await lis.stop(3000);

        expect(messages(lis).map((m) => m.text)).toEqual(["live and well"]);
        expect(events(lis).filter((e) => e.nick === "boss" || e.nick === "mate")).toEqual([]);
        expect(lis.stdout.includes(secret)).toBe(false);
        expect(saidOnStderr(lis)).toEqual([]);
        const stats = sealedStatsOf(lis);
        expect(stats.replayed).toBeGreaterThanOrEqual(captured.length);
        console.log(
          `mixed encrypted room: replayed ${captured.length} captured datagrams of two 0.3 runs, the late joiner refused ${stats.replayed}; the live 0.3 member was shown`,
        );
      },
      60_000,
    );
  });
});

/**
 * What a 0.2 member said on stderr besides its --stats line (lost 0): at most one "ignoring
 * frames from … (a newer mcchat?)" line (our v1.1 frames), about the current member.
 */
function v02Said(p: Proc, current: Host): string[] {
  const problems: string[] = [];
  let newer = 0;
  for (const line of p.lines("stderr").filter((l) => l !== "")) {
    if (OLD_STATS_RE.test(line)) continue;
    const m = OLD_NEWER_RE.exec(line);
    if (m && fromHost(current).test(m[1] as string) && ++newer === 1) continue;
    problems.push(line);
  }
  const lost = oldStatsOf(p)?.lost;
  if (lost !== 0) problems.push(`--stats: lost ${lost}`);
  return problems;
}

const skip02 = !V02.available
  ? ` [skipped: ${V02.skipReason}]`
  : !CURRENT?.available
    ? " [skipped: dist/mcchat not built]"
    : "";
const when02 = skip02 ? test.skip : test;

describe("an encrypted room with a mcchat 0.2.0 member", () => {
  describeLab(`0.2.0 and this build on three lab hosts${skip02}`, () => {
    const lab = sharedLab(3);
    const mcchat = CURRENT?.argv ?? [];
    const v02 = V02.argv;
    const room = (port: number) => ["-y", "-g", GROUP, "-p", String(port), "--json", "--stats"];
    const fromH = (cap: Proc, host: Host) =>
      cap.json<Datagram>().filter((d) => fromHost(host).test(d.from));
    const joinOf = (p: Proc, nick: string) =>
      events(p).some((e) => e.type === "join" && e.nick === nick);

    when02(
      "(3) each shows the other's lines, whoever starts first; the 0.2 member is shown within a few seconds",
      async () => {
        const [h0, h1, h2] = await lab();
        const port = 26_820;
        const cap = await legacyReceiver(h2, GROUP, port + 1, ["--count", "0", "--timeout", "60"]);
        // The 0.2 member starts first and is past its quick heartbeats (HELLO, then heartbeats
        // 0.1-3.4 s after it: 9 datagrams); then the current member joins, so it first hears the
        // 0.2 member by an ambient heartbeat (every 2 s).
        const o = h0.spawn([...v02, ...room(port), "-n", "old"], { env: withPass, stdin: "pipe" });
        await waitFor(
          () => fromH(cap, h0).length >= 9,
          10_000,
          "the 0.2 member is past its quick heartbeats",
          [o, cap],
        );
        const n = h1.spawn([...mcchat, ...room(port), "-n", "new"], {
          env: withPass,
          stdin: "pipe",
        });
        const joined = performance.now();
        const all = [o, n];
        let shownAt: number | undefined;
        await waitFor(
          () => {
            if (shownAt === undefined && joinOf(n, "old")) shownAt = performance.now();
            return shownAt !== undefined && joinOf(o, "new");
          },
          10_000,
          "the 0.2 and the current member show each other's join",
          all,
        );
        o.write("from 0.2\n");
        await waitFor(
          () => messages(n).some((m) => m.text === "from 0.2"),
          10_000,
          "the current member shows the 0.2 member's line",
          all,
        );
        n.write("from 0.4\n");
        await waitFor(
          () => messages(o).some((m) => m.text === "from 0.4"),
          10_000,
          "the 0.2 member shows the current member's line",
          all,
        );
        // A second 0.2 member starts after the current one.
        const later = h0.spawn([...v02, ...room(port), "-n", "later"], {
          env: withPass,
          stdin: "pipe",
        });
        const laterStarted = performance.now();
        let laterShownAt: number | undefined;
        await waitFor(
          () => {
            if (laterShownAt === undefined && joinOf(n, "later")) laterShownAt = performance.now();
            return laterShownAt !== undefined && joinOf(later, "new");
          },
          10_000,
          "the later 0.2 member and the current member show each other's join",
          [...all, later],
        );
        later.write("later 0.2\n");
        n.write("to both\n");
        await waitFor(
          () =>
            messages(n).some((m) => m.text === "later 0.2") &&
            messages(later).some((m) => m.text === "to both") &&
            messages(o).some((m) => m.text === "to both"),
          10_000,
          "the lines after the later 0.2 member joined",
          [...all, later],
        );
        for (const p of [o, n, later]) p.end();
        for (const p of [o, n, later]) expect(await p.waitForExit(10_000)).toBe(0);
        const delay = (shownAt as number) - joined;
        const laterDelay = (laterShownAt as number) - laterStarted;
        expect(delay).toBeLessThan(4000);
        expect(laterDelay).toBeLessThan(4000);
        expect(messages(n).map((m) => [m.nick, m.text])).toEqual([
          ["old", "from 0.2"],
          ["later", "later 0.2"],
        ]);
        expect(messages(o).map((m) => m.text)).toContain("from 0.4");
        expect(messages(o).map((m) => m.text)).toContain("to both");
        expect(saidOnStderr(n)).toEqual([]);
        expect(v02Said(o, h1)).toEqual([]);
        expect(v02Said(later, h1)).toEqual([]);
        console.log(
          `mixed 0.2 encrypted room: the current member showed the 0.2 member ${Math.round(delay)} ms after it joined (0.2 first), the later 0.2 member ${Math.round(laterDelay)} ms after its start`,
        );
      },
      60_000,
    );

    when02(
      "(4) a captured 0.2 run replayed to a later joiner shows nothing; a live 0.2 member right after it is shown",
      async () => {
        const [h0, h1, h2] = await lab();
        const port = 26_830;
        const cap = await legacyReceiver(h2, GROUP, port + 1, ["--count", "0", "--timeout", "90"]);
        const secret = "wire the money to mallory";
        // Two 0.2 members (a boss and a colleague, so the boss's run reports on someone as a
        // real room's would); an outsider on h2 captures it all; both leave.
        const mate = h0.spawn([...v02, ...room(port), "--listen", "-n", "mate"], { env: withPass });
        const boss = h0.spawn([...v02, ...room(port), "-n", "boss"], {
          env: withPass,
          stdin: "pipe",
        });
        await waitFor(() => joinOf(mate, "boss"), 10_000, "the 0.2 members see each other", [
          mate,
          boss,
        ]);
        boss.write(`${secret}\n`);
        await waitFor(() => messages(mate).length > 0, 10_000, "the line went out", [mate, boss]);
        boss.end();
        expect(await boss.waitForExit(10_000)).toBe(0);
        await mate.stop(3000);
        await waitFor(() => fromH(cap, h0).length >= 4, 5000, "the capture holds the runs", [cap]);
        const captured = fromH(cap, h0).map((d) => d.hex);

        // Later, a current member joins (--listen); the outsider replays it all, three times.
        const lis = h1.spawn([...mcchat, ...room(port), "--listen", "-n", "late"], {
          env: withPass,
        });
        await waitFor(() => fromH(cap, h1).length > 0, 10_000, "the late joiner is on the wire", [
          lis,
        ]);
        for (let round = 0; round < 3; round++) {
          await h2.exec([
            ...LEGACY,
            "send",
            GROUP,
            String(port + 1),
            ...captured.flatMap((x) => ["--hex", x]),
          ]);
        }
        await waitFor(
          () => fromH(cap, h2).length >= 3 * captured.length,
          5000,
          "the capture holds the replay",
          [lis, cap],
        );

        // A real 0.2 member starts right after the replay and speaks.
        const live = h0.spawn([...v02, ...room(port), "-n", "live"], {
          env: withPass,
          stdin: "pipe",
        });
        await waitFor(
          () => joinOf(live, "late"),
          10_000,
          "the live 0.2 member hears the late joiner",
          [lis, live],
        );
        live.write("live and well\n");
        await waitFor(
          () => messages(lis).some((m) => m.text === "live and well"),
          10_000,
          "the live 0.2 member's line at the late joiner",
          [lis, live, cap],
        );
        live.end();
        expect(await live.waitForExit(10_000)).toBe(0);
        await lis.stop(3000);

        expect(messages(lis).map((m) => m.text)).toEqual(["live and well"]);
        expect(events(lis).filter((e) => e.nick === "boss" || e.nick === "mate")).toEqual([]);
        expect(lis.stdout.includes(secret)).toBe(false);
        expect(saidOnStderr(lis)).toEqual([]);
        const stats = sealedStatsOf(lis);
        expect(stats.replayed).toBeGreaterThanOrEqual(captured.length);
        console.log(
          `mixed 0.2 encrypted room: replayed ${captured.length} captured datagrams of two 0.2 runs 3 times, the late joiner refused ${stats.replayed}; the live 0.2 member was shown`,
        );
      },
      90_000,
    );
  });
});
