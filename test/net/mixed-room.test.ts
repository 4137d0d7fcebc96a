/**
 * A room shared by the current mcchat and the released mcchat 0.2.0 (commit f62c515, built
 * by scripts/test.ts into dist/test/mcchat-0.2.0; see test/helpers/old-mcchat.ts). A newer
 * wire must keep such a room working: the 0.2 member shows every plain text message once,
 * in order, and never reports a loss; the current members show the 0.2 member's too.
 *
 *   h0 198.18.0.1  "alice"  current (dist/mcchat, or MCCHAT_TEST_BINARY), lines from stdin
 *   h1 198.18.0.2  "bob"    current, lines from stdin
 *   h2 198.18.0.3  "old"    mcchat 0.2.0, lines from stdin
 *   h3 198.18.0.4  late joiners (--listen --history 5): "late02" (0.2.0), "latecur" (current)
 *
 * All `-y --json`, group 239.1.71.1, ports 27101/27111/27121 (+1: frames). The 0.2 member's
 * stderr may hold at most one `ignoring frames from … (…; a newer mcchat?)` line per other
 * current member (0.2 warns once per sender about frame types it does not know) and its
 * --stats line, nothing else; it is printed in the test output for the reviewer.
 *
 * Readiness: every member has seen every other join before a line is written.
 */
import { afterEach, expect, test } from "bun:test";
import {
  events,
  type JsonEvent,
  joinedId,
  messages,
  waitEvent,
  waitFor,
} from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import {
  OLD_NEWER_RE,
  OLD_STATS_RE,
  OLD_VERSION,
  oldMcchat,
  oldStatsOf,
} from "../helpers/old-mcchat.ts";
import { fromHost } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.71.1";
const OLD = oldMcchat();
const CURRENT = (() => {
  const impls = implementations();
  return impls.find((i) => i.label !== "source") ?? (impls[0] as (typeof impls)[0]);
})();
const SKIP = !OLD.available
  ? OLD.skipReason
  : !CURRENT.available
    ? `${CURRENT.label} not built`
    : undefined;

/** One mcchat process in the room. */
interface Member {
  nick: string;
  /** "0.2.0" or the current binary's label. */
  version: string;
  old: boolean;
  host: Host;
  p: Proc;
}

const label = (m: Member) => `${m.nick} (${m.old ? `mcchat ${OLD_VERSION}` : m.version})`;

/** Starts `nick` on `host` in the room on `port`: `-y --json`, stdin a pipe unless listening. */
function start(host: Host, old: boolean, nick: string, port: string, extra: string[] = []): Member {
  const argv = old ? OLD.argv : CURRENT.argv;
  const listen = extra.includes("--listen");
  const p = host.spawn([...argv, "-y", "-g", GROUP, "-p", port, "--json", "-n", nick, ...extra], {
    stdin: listen ? undefined : "pipe",
  });
  return { nick, version: old ? OLD_VERSION : CURRENT.label, old, host, p };
}

/** Polls `cond` (bounded); a timeout throws with `problems()` (who misses what) and outputs. */
async function waitUntil(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  problems: () => string[],
  members: Member[],
): Promise<void> {
  try {
    await waitFor(cond, timeoutMs, what, []);
  } catch {
    throw new Error(
      `timed out after ${timeoutMs} ms: ${what}\n  ${problems().join("\n  ")}\n${members
        .map((m) => `${label(m)}:\n${m.p.describe()}`)
        .join("\n")}`,
    );
  }
}

/** Who has not yet seen whom join. */
function missingJoins(members: Member[]): string[] {
  const out: string[] = [];
  for (const w of members) {
    for (const o of members) {
      if (o !== w && !joinedId(w.p, o.nick)) out.push(`${label(w)} has not seen ${label(o)} join`);
    }
  }
  return out;
}

async function everyoneJoined(members: Member[], timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    () => missingJoins(members).length === 0,
    timeoutMs,
    "every member sees every other join",
    () => missingJoins(members),
    members,
  );
  for (const w of members) {
    for (const o of members) {
      if (o === w) continue;
      const join = events(w.p).find((e) => e.type === "join" && e.nick === o.nick);
      expect({ watcher: w.nick, joined: o.nick, from: join?.from ?? "" }).toMatchObject({
        from: expect.stringMatching(fromHost(o.host)),
      });
    }
  }
}

/** The live (not history) messages `w` shows from `s`, by `s`'s instance id as `w` saw it join. */
function shownFrom(w: Member, s: Member): string[] {
  const id = joinedId(w.p, s.nick);
  return messages(w.p)
    .filter((e) => !e.history && (id ? e.id === id : e.nick === s.nick))
    .map((e) => e.text ?? "");
}

const short = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
const sample = (ts: string[]) =>
  ts.length ? ` (${ts.slice(0, 3).map(short).join(", ")}${ts.length > 3 ? ", …" : ""})` : "";

/** What is wrong with `got` against `want` (all, once, in order), or undefined. */
function mismatch(want: string[], got: string[]): string | undefined {
  if (got.length === want.length && got.every((t, i) => t === want[i])) return undefined;
  const seen = new Map<string, number>();
  for (const t of got) seen.set(t, (seen.get(t) ?? 0) + 1);
  const wanted = new Set(want);
  const missing = want.filter((t) => !seen.has(t));
  const dups = [...seen].filter(([, n]) => n > 1).map(([t]) => t);
  const foreign = got.filter((t) => !wanted.has(t));
  const at = want.findIndex((t, i) => got[i] !== t);
  return [
    `${got.length} of ${want.length} shown`,
    `missing ${missing.length}${sample(missing)}`,
    `duplicated ${dups.length}${sample(dups)}`,
    `never sent ${foreign.length}${sample(foreign)}`,
    at >= 0
      ? `first difference at #${at + 1}: ${got[at] === undefined ? "nothing" : short(got[at])} instead of ${short(want[at] as string)}`
      : "",
  ]
    .filter(Boolean)
    .join("; ");
}

/** For each watcher and each other member that sent lines: what it shows wrong. */
function deliveryProblems(watchers: Member[], sent: Map<Member, string[]>): string[] {
  const out: string[] = [];
  for (const w of watchers) {
    for (const [s, lines] of sent) {
      if (s === w) continue;
      const wrong = mismatch(lines, shownFrom(w, s));
      if (wrong) out.push(`${label(w)} shows ${label(s)}'s lines wrong: ${wrong}`);
    }
  }
  return out;
}

/** Waits (bounded) until every watcher shows every other sender's lines, then checks them. */
async function everyoneGot(
  watchers: Member[],
  sent: Map<Member, string[]>,
  timeoutMs: number,
  all: Member[] = watchers,
): Promise<void> {
  const complete = () =>
    watchers.every((w) =>
      [...sent].every(([s, lines]) => s === w || shownFrom(w, s).length >= lines.length),
    );
  await waitUntil(
    complete,
    timeoutMs,
    "every member shows every other member's lines",
    () => deliveryProblems(watchers, sent),
    all,
  );
  expect(deliveryProblems(watchers, sent)).toEqual([]);
}

/** `lost` events anywhere, as "who: event". */
function lostEvents(members: Member[]): string[] {
  return members.flatMap((m) =>
    events(m.p)
      .filter((e) => e.type === "lost")
      .map((e) => `${label(m)} reported a loss: ${JSON.stringify(e)}`),
  );
}

/**
 * Prints the 0.2 member's stderr and checks it: no loss, no error; only its --stats line
 * (with lost 0) and at most one "a newer mcchat?" line per other current member, each from
 * such a member's address.
 */
function checkOldStderr(old: Member, others: Member[], context: string): void {
  const lines = old.p.lines("stderr").filter((l) => l !== "");
  console.log(
    `${context}: ${label(old)} stderr${lines.length ? `:\n  ${lines.join("\n  ")}` : ": (empty)"}`,
  );
  const problems: string[] = [];
  const newerPerAddress = new Map<string, number>();
  for (const line of lines) {
    if (OLD_STATS_RE.test(line)) continue;
    const m = OLD_NEWER_RE.exec(line);
    if (!m) {
      problems.push(`unexpected line: ${line}`);
      continue;
    }
    const address = (m[1] as string).replace(/^\[?(.*?)\]?:\d+$/, "$1");
    newerPerAddress.set(address, (newerPerAddress.get(address) ?? 0) + 1);
  }
  for (const [address, n] of newerPerAddress) {
    const current = others.filter((o) => !o.old && o.host.address === address).length;
    if (n > current) {
      problems.push(
        `${n} "a newer mcchat?" line(s) about ${address}, where ${current} current member(s) ran`,
      );
    }
  }
  const stats = oldStatsOf(old.p);
  if (stats && stats.lost !== 0) problems.push(`--stats says lost ${stats.lost}`);
  expect({ member: label(old), stderrProblems: problems }).toEqual({
    member: label(old),
    stderrProblems: [],
  });
}

/** The event kinds 0.2 may print here: no lost, no nick change, nothing else. */
function oldKindsOk(old: Member): void {
  const odd = events(old.p).filter((e) => !["join", "message", "leave"].includes(e.type));
  expect({ member: label(old), otherEvents: odd }).toEqual({ member: label(old), otherEvents: [] });
}

async function exitsZero(members: Member[], timeoutMs: number): Promise<void> {
  const codes = await Promise.all(
    members.map(async (m) => ({
      member: label(m),
      exit: await m.p.waitForExit(timeoutMs).catch((e: Error) => e.message),
    })),
  );
  expect(codes).toEqual(members.map((m) => ({ member: label(m), exit: 0 })));
}

async function seesLeave(watcher: Member, leaver: Member): Promise<JsonEvent> {
  const id = joinedId(watcher.p, leaver.nick);
  return waitEvent(
    watcher.p,
    (e) => e.type === "leave" && e.nick === leaver.nick && (!id || e.id === id),
    `${label(watcher)} sees ${label(leaver)} leave`,
    10_000,
  );
}

const title = `a room with mcchat ${OLD_VERSION} and ${CURRENT.label} members`;

describeLab(SKIP ? `${title} [skipped: ${SKIP}]` : title, () => {
  const when = SKIP ? test.skip : test;
  const lab = sharedLab(4);

  when(
    "everyone sees everyone join; text both ways, each line once and in order; BYE seen both ways",
    async () => {
      const [h0, h1, h2] = await lab();
      const port = "27101";
      const alice = start(h0, false, "alice", port);
      const bob = start(h1, false, "bob", port);
      const old = start(h2, true, "old", port);
      const room = [alice, bob, old];
      await everyoneJoined(room);

      // Short lines, non-ASCII, and one of ~6 KB (several fragments) from each member.
      const linesOf = (nick: string) => [
        `${nick} 1: hello`,
        `${nick} 2: 你好，大家好 👋 — ünïcödé`,
        `${nick} 3: ${"长文本，多个分片。".repeat(220)}`,
        `${nick} 4: after the long one`,
        `${nick} 5: last`,
      ];
      const sent = new Map(room.map((m) => [m, linesOf(m.nick)]));
      for (const [m, lines] of sent) m.p.write(`${lines.join("\n")}\n`);
      await everyoneGot(room, sent, 30_000);
      expect(lostEvents(room)).toEqual([]);

      // Leaving: a current member's BYE reaches the 0.2 member, the 0.2 member's a current one.
      alice.p.end();
      await exitsZero([alice], 25_000);
      for (const w of [bob, old]) expect((await seesLeave(w, alice)).reason).toBe("bye");
      old.p.end();
      await exitsZero([old], 25_000);
      expect((await seesLeave(bob, old)).reason).toBe("bye");
      bob.p.end();
      await exitsZero([bob], 25_000);

      // Still once each after everyone left (a late duplicate would show now), no loss.
      expect(deliveryProblems(room, sent)).toEqual([]);
      expect(lostEvents(room)).toEqual([]);
      oldKindsOk(old);
      checkOldStderr(old, [alice, bob], "join/text/BYE");
    },
    90_000,
  );

  when(
    "20% loss at the 0.2 member and at a current member: 200 lines each way, all once, in order, no loss, everyone exits 0 after EOF",
    async () => {
      const [h0, h1, h2] = await lab();
      const port = "27111";
      const alice = start(h0, false, "alice", port);
      const bob = start(h1, false, "bob", port);
      const old = start(h2, true, "old", port, ["--stats"]);
      const room = [alice, bob, old];
      try {
        await everyoneJoined(room);
        await Promise.all([h1.setLoss(20), h2.setLoss(20)]);
        const N = 200;
        const linesOf = (nick: string) =>
          Array.from({ length: N }, (_, i) => `${nick} ${String(i + 1).padStart(3, "0")} 消息`);
        const sent = new Map([
          [alice, linesOf("alice")],
          [old, linesOf("old")],
        ]);
        const t0 = Date.now();
        for (const [m, lines] of sent) m.p.write(`${lines.join("\n")}\n`);
        // alice (no loss on her host) has old's lines at once; her EOF then must wait until
        // bob and old, both losing, have reported her last line: the pipe drains under loss.
        await everyoneGot([alice], sent, 30_000, room);
        alice.p.end();
        // old ends once it has alice's lines (it would not wait for them after its own EOF).
        await everyoneGot([old], sent, 60_000, room);
        old.p.end();
        await exitsZero([alice, old], 40_000);
        await everyoneGot([bob], sent, 30_000, room);
        bob.p.end();
        await exitsZero([bob], 25_000);
        const seconds = (Date.now() - t0) / 1000;

        expect(deliveryProblems(room, sent)).toEqual([]);
        expect(lostEvents(room)).toEqual([]);
        oldKindsOk(old);
        const stats = oldStatsOf(old.p);
        console.log(
          `20% loss: ${2 * N} lines delivered in ${seconds.toFixed(1)} s; ${label(old)} --stats: ${JSON.stringify(stats)}`,
        );
        // The 0.2 member lost datagrams and was repaired (by the current member), nothing lost.
        expect(stats).toMatchObject({ received: N, lost: 0 });
        expect(stats?.repaired).toBeGreaterThan(0);
        checkOldStderr(old, [alice, bob], "20% loss");
      } finally {
        await stopAll();
        await Promise.all([h1.clearLoss(), h2.clearLoss()]);
      }
    },
    150_000,
  );

  when(
    "late joiners with --history 5, one 0.2 and one current, each show the room's last 5 messages once",
    async () => {
      const [h0, h1, h2, h3] = await lab();
      const port = "27121";
      const alice = start(h0, false, "alice", port);
      const bob = start(h1, false, "bob", port);
      const old = start(h2, true, "old", port);
      const room = [alice, bob, old];
      await everyoneJoined(room);

      // Turns across all three (each line reaches both others before the next is written),
      // so the room's order is the order written: alice, old, bob, alice, …
      const said: { m: Member; text: string }[] = [];
      for (let round = 1; round <= 3; round++) {
        for (const m of [alice, old, bob]) {
          const text = `${m.nick} says ${round}`;
          said.push({ m, text });
          m.p.write(`${text}\n`);
          const others = room.filter((o) => o !== m);
          await waitUntil(
            () => others.every((o) => shownFrom(o, m).includes(text)),
            10_000,
            `"${text}" reaches the other members`,
            () =>
              others
                .filter((o) => !shownFrom(o, m).includes(text))
                .map((o) => `${label(o)} misses "${text}"`),
            room,
          );
          await Bun.sleep(20);
        }
      }
      const last5 = said.slice(-5);

      const late = async (isOld: boolean, nick: string) => {
        const m = start(h3, isOld, nick, port, [
          "--listen",
          "--history",
          "5",
          "--timeout",
          "4",
          ...(isOld ? ["--stats"] : []),
        ]);
        // --timeout without --count: exit 0 after 4 s, well after the history wait.
        await exitsZero([m], 15_000);
        const shown = messages(m.p);
        const wrong = mismatch(
          last5.map((s) => s.text),
          shown.map((e) => e.text ?? ""),
        );
        if (wrong) {
          throw new Error(
            `${label(m)} with --history 5 shows the room's last 5 messages wrong: ${wrong}\n${m.p.describe()}`,
          );
        }
        for (const [k, e] of shown.entries()) {
          expect({ member: label(m), text: e.text, history: e.history, nick: e.nick }).toEqual({
            member: label(m),
            text: last5[k]?.text,
            history: true,
            nick: last5[k]?.m.nick,
          });
        }
        expect(lostEvents([m])).toEqual([]);
        console.log(
          `history: ${label(m)} showed ${shown.map((e) => short(e.text ?? "")).join(", ")}`,
        );
        return m;
      };
      const late02 = await late(true, "late02");
      oldKindsOk(late02);
      checkOldStderr(late02, room, "late 0.2 joiner");
      const latecur = await late(false, "latecur");

      // The members present saw each line once: history answers are not new messages.
      const sent = new Map<Member, string[]>(
        room.map((m) => [m, said.filter((s) => s.m === m).map((s) => s.text)]),
      );
      expect(deliveryProblems(room, sent)).toEqual([]);
      for (const m of room) expect(messages(m.p).filter((e) => e.history)).toEqual([]);
      for (const m of room) m.p.end();
      await exitsZero(room, 25_000);
      expect(lostEvents(room)).toEqual([]);
      oldKindsOk(old);
      checkOldStderr(old, [alice, bob, late02, latecur], "history");
    },
    90_000,
  );
});
