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
import { events, messages, saidOnStderr, sealedStatsOf, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  type Hosts,
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
const MCCHAT = CURRENT?.argv ?? [];

const room = (port: number) => ["-y", "-g", GROUP, "-p", String(port), "--json", "--stats"];
const fromH = (cap: Proc, host: Host) =>
  cap.json<Datagram>().filter((d) => fromHost(host).test(d.from));
const joinOf = (p: Proc, nick: string) =>
  events(p).some((e) => e.type === "join" && e.nick === nick);

/** Why the tests with `old` skip ("" when they run): `old` or dist/mcchat is not built. */
function skipWith(old: ReturnType<typeof release>): string {
  if (!old.available) return ` [skipped: ${old.skipReason}]`;
  return CURRENT?.available ? "" : " [skipped: dist/mcchat not built]";
}

/** The old implementation a scenario runs: "0.3" or "0.2" (in titles), and its argv. */
interface Old {
  label: string;
  argv: string[];
}

/** Waits (waitFor) until `cond` and `also` hold; returns when `cond` first held. */
async function timedWaitFor(
  cond: () => boolean,
  also: () => boolean,
  what: string,
  procs: Proc[],
): Promise<number> {
  let at: number | undefined;
  await waitFor(
    () => {
      if (at === undefined && cond()) at = performance.now();
      return at !== undefined && also();
    },
    10_000,
    what,
    procs,
  );
  return at as number;
}

/**
 * The old member `o` says "from <label>" and the current member `n` shows it; `n` says
 * "from 0.4" and `o` shows it. Returns when `n` showed `o`'s line.
 */
async function exchangeLines(o: Proc, n: Proc, old: Old, all: Proc[]): Promise<number> {
  o.write(`from ${old.label}\n`);
  const shownAt = await timedWaitFor(
    () => messages(n).some((m) => m.text === `from ${old.label}`),
    () => true,
    `the current member shows the ${old.label} member's line`,
    all,
  );
  n.write("from 0.4\n");
  await waitFor(
    () => messages(o).some((m) => m.text === "from 0.4"),
    10_000,
    `the ${old.label} member shows the current member's line`,
    all,
  );
  return shownAt;
}

/** Ends each member's input; each exits 0. */
async function endAll(procs: Proc[]): Promise<void> {
  for (const p of procs) p.end();
  for (const p of procs) expect(await p.waitForExit(10_000)).toBe(0);
}

/**
 * (2) and (4): two `old` members (a boss and a colleague, so the boss's run reports on someone,
 * as a real room's would) speak while an outsider on h2 captures it all; both leave. Later a
 * current member joins (--listen) and the outsider replays the capture `rounds` times; then a
 * live `old` member starts and speaks. The late joiner shows only the live member's line.
 */
async function capturedRunReplayed(
  [h0, h1, h2]: Hosts<3>,
  old: Old,
  { port, rounds, captureSeconds }: { port: number; rounds: number; captureSeconds: number },
): Promise<void> {
  const cap = await legacyReceiver(h2, GROUP, port + 1, [
    "--count",
    "0",
    "--timeout",
    String(captureSeconds),
  ]);
  const secret = "wire the money to mallory";
  const mate = h0.spawn([...old.argv, ...room(port), "--listen", "-n", "mate"], { env: withPass });
  const boss = h0.spawn([...old.argv, ...room(port), "-n", "boss"], {
    env: withPass,
    stdin: "pipe",
  });
  await waitFor(() => joinOf(mate, "boss"), 10_000, `the ${old.label} members see each other`, [
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

  // Later, a current member joins (--listen); then the outsider replays it all.
  const lis = h1.spawn([...MCCHAT, ...room(port), "--listen", "-n", "late"], { env: withPass });
  await waitFor(() => fromH(cap, h1).length > 0, 10_000, "the late joiner is on the wire", [lis]);
  for (let round = 0; round < rounds; round++) {
    await h2.exec([
      ...LEGACY,
      "send",
      GROUP,
      String(port + 1),
      ...captured.flatMap((x) => ["--hex", x]),
    ]);
  }
  await waitFor(
    () => fromH(cap, h2).length >= rounds * captured.length,
    5000,
    "the capture holds the replay",
    [lis, cap],
  );

  // A real old member starts right after the replay and speaks.
  const live = h0.spawn([...old.argv, ...room(port), "-n", "live"], {
    env: withPass,
    stdin: "pipe",
  });
  await waitFor(
    () => joinOf(live, "late"),
    10_000,
    `the live ${old.label} member hears the late joiner`,
    [lis, live],
  );
  live.write("live and well\n");
  await waitFor(
    () => messages(lis).some((m) => m.text === "live and well"),
    10_000,
    `the live ${old.label} member's line at the late joiner`,
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
    `mixed ${old.label} encrypted room: replayed ${captured.length} captured datagrams of two ${old.label} runs ${rounds} time(s), the late joiner refused ${stats.replayed}; the live ${old.label} member was shown`,
  );
}

const skip = skipWith(OLD);
const when = skip ? test.skip : test;
const V03_MEMBER: Old = { label: "0.3", argv: OLD.argv };

describe("an encrypted room with a mcchat 0.3.0 member", () => {
  describeLab(`0.3.0 and this build on three lab hosts${skip}`, () => {
    const lab = sharedLab(3);
    const old = V03_MEMBER.argv;

    when(
      "(1) each shows the other's lines; the current member shows the 0.3 member's line within a few seconds of joining",
      async () => {
        const [h0, h1] = await lab();
        const port = 26_800;
        const o = h0.spawn([...old, ...room(port), "-n", "old"], { env: withPass, stdin: "pipe" });
        // The 0.3 member starts first; then the current member joins.
        const n = h1.spawn([...MCCHAT, ...room(port), "-n", "new"], {
          env: withPass,
          stdin: "pipe",
        });
        const joined = performance.now();
        const all = [o, n];
        await waitFor(() => joinOf(o, "new"), 10_000, "the 0.3 member sees the new one", all);
        const shownAt = await exchangeLines(o, n, V03_MEMBER, all);
        await endAll([o, n]);
        const delay = shownAt - joined;
        expect(delay).toBeLessThan(3000);
        expect(messages(n).map((m) => [m.nick, m.text])).toEqual([["old", "from 0.3"]]);
        expect(messages(o).map((m) => [m.nick, m.text])).toEqual([["new", "from 0.4"]]);
        expect(joinOf(n, "old")).toBe(true);
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
      async () =>
        capturedRunReplayed(await lab(), V03_MEMBER, {
          port: 26_810,
          rounds: 1,
          captureSeconds: 60,
        }),
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

const skip02 = skipWith(V02);
const when02 = skip02 ? test.skip : test;
const V02_MEMBER: Old = { label: "0.2", argv: V02.argv };

describe("an encrypted room with a mcchat 0.2.0 member", () => {
  describeLab(`0.2.0 and this build on three lab hosts${skip02}`, () => {
    const lab = sharedLab(3);
    const v02 = V02_MEMBER.argv;

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
        const n = h1.spawn([...MCCHAT, ...room(port), "-n", "new"], {
          env: withPass,
          stdin: "pipe",
        });
        const joined = performance.now();
        const all = [o, n];
        const shownAt = await timedWaitFor(
          () => joinOf(n, "old"),
          () => joinOf(o, "new"),
          "the 0.2 and the current member show each other's join",
          all,
        );
        await exchangeLines(o, n, V02_MEMBER, all);
        // A second 0.2 member starts after the current one.
        const later = h0.spawn([...v02, ...room(port), "-n", "later"], {
          env: withPass,
          stdin: "pipe",
        });
        const laterStarted = performance.now();
        const laterShownAt = await timedWaitFor(
          () => joinOf(n, "later"),
          () => joinOf(later, "new"),
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
        await endAll([o, n, later]);
        const delay = shownAt - joined;
        const laterDelay = laterShownAt - laterStarted;
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
      async () =>
        capturedRunReplayed(await lab(), V02_MEMBER, {
          port: 26_830,
          rounds: 3,
          captureSeconds: 90,
        }),
      90_000,
    );
  });
});
