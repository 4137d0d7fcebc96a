/**
 * Quiet screens (issue 16), tried with dist/mcchat in a tmux pane (80x24) between namespaced
 * hosts, the other members a crowd of real sessions in one process on the other host
 * (test/helpers/crowd.ts):
 * - a late joiner in a room of 10 sees one names line, not nine "joined" lines;
 * - a member frozen 8 s (SIGSTOP/SIGCONT) prints at most 2 lines on waking;
 * - a 20-line paste asks first, and is sent on "y" (and at once with --no-paste-confirm);
 * - /who in a room of 40 fits one screen, and CJK nicks stay aligned.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  assertPrivateNetns,
  BINARY,
  binaryCommand,
  describeLab,
  type Host,
  type Proc,
  ROOT,
  run,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Pane, panesPerTest, stripAnsi } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const HEARTBEAT_MS = 500;
const CROWD = [process.execPath, join(ROOT, "test/helpers/crowd.ts")];
const terminal = panesPerTest({ width: 80, height: 24 });
const haveBinary = (() => {
  try {
    return statSync(BINARY).isFile();
  } catch {
    return false;
  }
})();

/** `nicks` as members on `host`, all started (their first HELLOs out). */
async function crowd(host: Host, group: string, port: number, nicks: string[], hb = HEARTBEAT_MS) {
  const p = host.spawn(
    [
      ...CROWD,
      "-g",
      group,
      "-p",
      String(port),
      "--nicks",
      nicks.join(","),
      "--heartbeat",
      String(hb),
    ],
    { stdin: "pipe" },
  );
  await p.waitForLine(/"ready":/, 20_000);
  return p;
}

const heard = (p: Proc) => p.stdout.split("\n").filter((l) => l.includes('"heard"'));

/** alice in an 80x24 pane on `host`, in the room. */
async function alice(
  host: Host,
  group: string,
  port: number,
  hb = HEARTBEAT_MS,
  extra: string[] = [],
) {
  const argv = [...binaryCommand(), "-y", "-g", group, "-p", String(port)];
  argv.push("--heartbeat", String(hb), "-n", "alice", "--history", "0", ...extra);
  const t = await terminal(host, argv);
  await t.waitFor(/^alice>/m);
  return t;
}

/**
 * Until the pane shows all `n` other members, in either form: the names line, or one
 * "joined" line each (as mcchat 0.4.0 did): a fence that does not presume the fix.
 */
async function roomOf(t: Pane, n: number, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await t.screen();
    if (s.includes(`in the room (${n})`) || (s.match(/ joined \(/g)?.length ?? 0) >= n) return s;
    if (Date.now() > deadline) throw new Error(`the room of ${n} not shown:\n${s}`);
    await Bun.sleep(50);
  }
}

/** The pane's output since `offset` bytes of its log, as lines without escapes. */
function logLines(t: Pane, offset: number): string[] {
  const text = readFileSync(t.logFile).subarray(offset).toString();
  return stripAnsi(text).split("\n");
}

describeLab("quiet screens (dist/mcchat in tmux)", () => {
  const lab = sharedLab(2);
  const nine = Array.from({ length: 9 }, (_, i) => `member${i + 1}`);

  test.skipIf(!haveBinary)(
    "a late joiner in a room of 10 sees one names line",
    async () => {
      const [h0, h1] = await lab();
      await crowd(h1, "239.1.116.1", 26_101, nine);
      const t = await alice(h0, "239.1.116.1", 26_101);
      const screen = await roomOf(t, 9);
      // Names up to the line's width, the rest counted: nine in all.
      const line = /in the room \(9\): (.*)/.exec(screen)?.[1] ?? "";
      const [names = "", more = "0"] = line.split(" +");
      expect(names.split(", ").length + Number.parseInt(more, 10)).toBe(9);
      expect(names).toStartWith("member1, member2, ");
      expect(screen).not.toMatch(/joined \(/);
    },
    60_000,
  );

  test.skipIf(!haveBinary)(
    "a member frozen 8 s prints at most 2 lines on waking",
    async () => {
      const [h0, h1] = await lab();
      await crowd(h1, "239.1.116.2", 26_103, nine);
      const t = await alice(h0, "239.1.116.2", 26_103);
      await roomOf(t, 9);
      await t.pipeOutput();
      const shell = (await t.tmux("display-message", "-p", "-t", "main", "#{pane_pid}")).trim();
      const pid = (await run(["pgrep", "-P", shell])).stdout.trim();
      expect(pid).toMatch(/^\d+$/);
      process.kill(Number(pid), "SIGSTOP");
      try {
        await Bun.sleep(8000); // the lid is closed: every member times out (1.5 s) meanwhile
      } finally {
        process.kill(Number(pid), "SIGCONT");
      }
      const offset = statSync(t.logFile).size;
      // Waking is over once every member was heard again and the wake window (2 heartbeats)
      // ended; then /who is a fence: its answer comes after everything waking printed.
      await t.waitFor(/-- (we were frozen for \d+ s|member\d joined)/, 10_000);
      await Bun.sleep(4 * HEARTBEAT_MS);

      await t.type("/who");
      await t.keys("Enter");
      await t.waitFor(/-- 10 members/);
      const lines = logLines(t, offset);
      const upToWho = lines.slice(
        0,
        lines.findIndex((l) => l.includes("/who")),
      );
      const notices = upToWho.filter((l) => l.includes("-- "));
      expect(notices.length).toBeLessThanOrEqual(2);
      expect(notices.join("\n")).toMatch(/we were frozen for (7|8|9) s; 9 members reappeared/);
    },
    60_000,
  );

  test.skipIf(!haveBinary)(
    "a 20-line paste asks first; y sends it",
    async () => {
      const [h0, h1] = await lab();
      const members = await crowd(h1, "239.1.116.3", 26_105, nine);
      const t = await alice(h0, "239.1.116.3", 26_105);
      await roomOf(t, 9);
      const text = Array.from({ length: 20 }, (_, i) => `pasted line ${i + 1}`).join("\n");
      await t.tmux("set-buffer", "-b", "p", "--", `${text}\n`);
      await t.tmux("paste-buffer", "-b", "p", "-t", "main");
      // The question, or (without it) the lines going out.
      const screen = await t.waitFor(/send them\?|pasted line 20\n/);
      expect(screen).toMatch(/paste of 20 lines \(first: "pasted line 1"\): send them\? \[y\/N\]/);
      expect(heard(members)).toHaveLength(0);
      await t.type("y");
      await t.keys("Enter");
      await members.waitForLine(/pasted line 20/, 10_000);
      expect(heard(members).map((l) => JSON.parse(l).heard.text)).toEqual(text.split("\n"));
    },
    60_000,
  );

  test.skipIf(!haveBinary)(
    "--no-paste-confirm: a paste goes out at once",
    async () => {
      const [h0, h1] = await lab();
      const members = await crowd(h1, "239.1.116.4", 26_107, ["bob"]);
      const t = await alice(h0, "239.1.116.4", 26_107, HEARTBEAT_MS, ["--no-paste-confirm"]);
      await t.waitFor(/-- bob joined/);
      await t.tmux("set-buffer", "-b", "p", "--", "one\ntwo\nthree\n");
      await t.tmux("paste-buffer", "-b", "p", "-t", "main");
      await members.waitForLine(/"three"/, 10_000);
      expect(await t.screen()).not.toMatch(/send them\?/);
    },
    60_000,
  );

  test.skipIf(!haveBinary)(
    "/who in a room of 40 fits one 80x24 screen, CJK nicks aligned",
    async () => {
      const [h0, h1] = await lab();
      const cjk = ["小明", "王小红", "李雷雷雷", "韩梅梅", "张伟", "刘洋洋"];
      const nicks = [
        ...Array.from({ length: 33 }, (_, i) => `s${String(i + 1).padStart(2, "0")}`),
        ...cjk,
      ];
      const members = await crowd(h1, "239.1.116.5", 26_109, nicks, 1000);
      const t = await alice(h0, "239.1.116.5", 26_109, 1000);
      await t.waitFor(/-- in the room \(39\)/, 20_000);
      members.write("say 33 大家好\n");
      await t.waitFor(/<小明> 大家好/);
      await t.type("/who");
      await t.keys("Enter");
      const rows = (await t.waitFor(/-- 40 members[\s\S]*\nalice>/)).split("\n");
      // The whole listing on one screen: its first line, every nick, the prompt after it.
      const first = rows.findIndex((r) => r.startsWith("-- room: open"));
      expect(first).toBeGreaterThanOrEqual(0);
      const listing = rows.slice(
        first + 2,
        rows.findIndex((r, i) => i > first && r.startsWith("alice>")),
      );
      const text = listing.join("\n");
      for (const n of [...nicks, "alice"]) expect(text).toMatch(new RegExp(`(^|\\s)${n}\\s`));
      expect(text).toMatch(/小明 +\ds/); // idle since its message, not its heartbeat
      expect(text).toMatch(/s01 +-/); // never spoke
      // Each column's cells end (their idle time) at one display column on every row.
      const ends: number[][] = listing.map((row) =>
        [...row.matchAll(/ (\d+[smhd]|-|you)(?= {3}|$)/g)].map((m) =>
          Bun.stringWidth(row.slice(0, (m.index ?? 0) + m[0].length)),
        ),
      );
      const columns = Math.max(...ends.map((e) => e.length));
      expect(columns).toBeGreaterThan(1);
      for (let c = 0; c < columns; c++) {
        expect(new Set(ends.map((e) => e[c]).filter((x) => x !== undefined)).size).toBe(1);
      }
    },
    90_000,
  );
});
