/**
 * `--log FILE` and `mcchat replay FILE` end to end, from source and as the binary:
 *
 *   h0  the member that logs: in the pipe (plain output, killed with SIGKILL at the end)
 *       and in the chat room (a tmux pane)
 *   h1  "bob": --json, lines from its stdin
 *
 * The log is 0600 (an existing 0644 file is tightened with a warning), holds every event
 * the member showed, already on disk when it was shown (SIGKILL loses none), including
 * bob's join heard before the UI was up; `mcchat replay` prints the lines the member
 * showed, and `replay --json` the file as it is. The pipe member runs without $USER and
 * $LOGNAME: its default nick is this uid's passwd entry (Bun's os.userInfo says "unknown").
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultNick, systemNickSources } from "../../src/config/default-nick.ts";
import { waitEvent } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  run,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const dir = mkdtempSync(join(tmpdir(), "mcchat-transcript-net-"));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) Bun.spawnSync(["umount", m]);
  rmSync(dir, { recursive: true, force: true });
});

/** An empty log file of ours on a 16 KiB tmpfs filled up: every write to it fails (ENOSPC). */
function fullFile(): string {
  const mnt = mkdtempSync(join(dir, "full-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", mnt], {
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`mount tmpfs (needs root): ${r.stderr.toString()}`);
  mounts.push(mnt);
  const log = join(mnt, "room.jsonl");
  writeFileSync(log, "", { mode: 0o600 });
  try {
    writeFileSync(join(mnt, "fill"), Buffer.alloc(1 << 20));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  }
  return log;
}

const HEARTBEAT_MS = "500";
const terminal = panesPerTest({ width: 120, height: 30 });

/** The nick a process without $USER/$LOGNAME takes: the passwd entry for our uid. */
const NICK_WITHOUT_USER = defaultNick({ ...systemNickSources(), env: {} });

/** replay's "-- YYYY-MM-DD --" line, shown when the date changes (a run across midnight). */
const isDayLine = (l: string) => /^-- \d{4}-\d\d-\d\d --$/.test(l);

const logLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describeLab("--log and replay", () => {
  const lab = sharedLab(2);
  let h0: Host;
  let h1: Host;

  implementations().forEach((impl, n) => {
    const group = `239.1.100.${91 + n}`;
    const port = 26_700 + 10 * n;
    const roomOn = (port: number) => [
      "-y",
      "-g",
      group,
      "-p",
      String(port),
      "--heartbeat",
      HEARTBEAT_MS,
    ];
    const room = roomOn(port);

    test.skipIf(!impl.available)(
      `${impl.label}: pipe: 0600 log of every event shown, intact after SIGKILL; replay shows them`,
      async () => {
        [h0, h1] = await lab();
        const log = join(dir, `pipe-${n}.jsonl`);
        writeFileSync(log, "");
        chmodSync(log, 0o644);
        // bob first: the logging member hears him while it starts.
        const bob = h1.spawn([...impl.argv, ...room, "--json", "-n", "bob"], { stdin: "pipe" });
        const me = h0.spawn([...impl.argv, ...room, "--log", log], {
          stdin: "pipe",
          env: { USER: undefined, LOGNAME: undefined },
        });
        await me.waitForLine(/-- bob joined/, 10_000);
        await waitEvent(
          bob,
          (e) => e.type === "join" && e.nick === NICK_WITHOUT_USER,
          "bob sees me",
        );
        expect(me.stderr).toContain(
          `mcchat: warning: the log ${log} had mode 0644: changed to 0600 (only you can read it)\n`,
        );
        expect(statSync(log).mode & 0o777).toBe(0o600);

        me.write("from me 1\n");
        await waitEvent(bob, (e) => e.type === "message" && e.text === "from me 1", "bob hears me");
        bob.write("from bob 1\nfrom bob 2\n");
        await me.waitForLine(/<bob> from bob 2$/, 10_000);

        // What was shown is on disk already: kill -9 and compare.
        const shown = me.lines();
        process.kill(me.pid, "SIGKILL");
        await me.waitForExit(5_000);
        const events = logLines(log);
        // Issue 16: the session's open marker first, dated; no close (killed with -9).
        expect(events[0]).toMatchObject({
          type: "session",
          event: "open",
          room: `${group}:${port}`,
          nick: NICK_WITHOUT_USER,
        });
        expect(events[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(events.some((e) => e.type === "session" && e.event === "close")).toBe(false);
        expect(events.filter((e) => e.type === "join").map((e) => e.nick)).toContain("bob");
        const texts = events.filter((e) => e.type === "message").map((e) => [e.text, e.self]);
        expect(texts).toEqual([
          ["from me 1", true],
          ["from bob 1", undefined],
          ["from bob 2", undefined],
        ]);

        const replay = await run([...impl.argv, "replay", log]);
        expect(replay.stderr).toBe("");
        expect(replay.code).toBe(0);
        const replayed = replay.stdout.split("\n").filter((l) => l !== "");
        // The session's open line, with its date, then every line the member showed, in order
        // (the pipe leaves out our own messages).
        expect(replayed[0]).toMatch(
          new RegExp(
            `^-- session opened \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d in ${group.replaceAll(".", "\\.")}:${port} as `,
          ),
        );
        expect(
          replayed.slice(1).filter((l) => !l.includes(`<${NICK_WITHOUT_USER}>`) && !isDayLine(l)),
        ).toEqual(shown);
        expect(replayed.some((l) => l.endsWith(`<${NICK_WITHOUT_USER}> from me 1`))).toBe(true);

        const json = await run([...impl.argv, "replay", "--json", log]);
        expect(json.code).toBe(0);
        expect(json.stdout).toBe(readFileSync(log, "utf8"));
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      `${impl.label}: a log that cannot be written (a full file system) is one warning; the member goes on`,
      async () => {
        [h0, h1] = await lab();
        // A regular file on a full file system (--log refuses devices such as /dev/full).
        const full = fullFile();
        const flags = roomOn(port + 2);
        const bob = h1.spawn([...impl.argv, ...flags, "--json", "-n", "bob"], { stdin: "pipe" });
        const me = h0.spawn([...impl.argv, ...flags, "-n", "carol", "--log", full], {
          stdin: "pipe",
        });
        await me.waitForLine(/-- bob joined/, 10_000);
        await me.waitForLine(/cannot write the log/, 10_000, "stderr");
        me.write("still here 1\nstill here 2\n");
        await waitEvent(bob, (e) => e.text === "still here 2", "bob hears carol after the failure");
        bob.write("and bob\n");
        await me.waitForLine(/<bob> and bob$/, 10_000);
        expect(me.lines("stderr")).toEqual([
          `mcchat: warning: cannot write the log ${full}: no space left on the device (ENOSPC); logging stopped`,
        ]);
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      `${impl.label}: chat room: the log holds what the screen showed; replay prints the same lines`,
      async () => {
        [h0, h1] = await lab();
        const log = join(dir, `chat-${n}.jsonl`);
        const chatRoom = roomOn(port + 1);
        const bob = h1.spawn([...impl.argv, ...chatRoom, "--json", "-n", "bob"], {
          stdin: "pipe",
        });
        const t = await terminal(h0, [...impl.argv, ...chatRoom, "-n", "alice", "--log", log]);
        await t.waitFor(/^alice>/m);
        await t.waitFor(/-- bob joined/);
        await waitEvent(bob, (e) => e.type === "join" && e.nick === "alice", "bob sees alice");
        bob.write("hello alice\n");
        await t.waitFor(/<bob> hello alice/);
        await t.type("hi bob");
        await t.keys("Enter");
        await waitEvent(bob, (e) => e.type === "message" && e.text === "hi bob", "bob hears alice");
        const screen = await t.waitFor(/<alice> hi bob/);
        await t.type("/quit");
        await t.keys("Enter");
        await t.waitFor(/^EXIT=0$/m);
        expect(statSync(log).mode & 0o777).toBe(0o600);

        const replay = await run([...impl.argv, "replay", log]);
        expect(replay.code).toBe(0);
        const all = replay.stdout.split("\n").filter((l) => l !== "");
        // Issue 16: opened and closed (by /quit: "left"), with dates, around what was shown.
        expect(all[0]).toMatch(/^-- session opened \d{4}-\d\d-\d\d \d\d:\d\d:\d\d in .* as alice /);
        expect(all.at(-1)).toMatch(/^-- session closed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(left\)$/);
        const replayed = all.slice(1, -1).filter((l) => !isDayLine(l));
        expect(replayed.length).toBeGreaterThanOrEqual(3);
        const rows = screen.split("\n").map((r) => r.replace(/^alice> /, ""));
        for (const line of replayed) expect(rows).toContain(line);
        expect(replayed.join("\n")).toMatch(
          /-- bob joined[\s\S]*<bob> hello alice[\s\S]*<alice> hi bob/,
        );
      },
      60_000,
    );
  });
});
