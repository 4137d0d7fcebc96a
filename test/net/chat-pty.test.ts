/**
 * The chat room end to end on a real terminal: mcchat runs in a tmux pane (a PTY)
 * inside a lab host, keys are typed with `send-keys`, the screen is read back with
 * `capture-pane`. The tmux server is started inside the host's network namespace
 * (`ip netns exec`), on a private socket per test, and killed at the end of it.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const WIDTH = 100;
const HEARTBEAT_MS = 500;
const TIME = String.raw`\d\d:\d\d:\d\d`;

/** Rows up to the last non-empty one. */
function content(rows: string[]): string[] {
  const out = [...rows];
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

/** `argv` in a WIDTH x 30 pane on a host, its stderr on the screen too (as in a terminal). */
const terminal = panesPerTest({ width: WIDTH, height: 30, stderrOnScreen: true });

describeLab("chat room on a terminal (tmux)", () => {
  const lab = sharedLab(2);
  let h0: Host;
  let h1: Host;
  const hosts = async () => {
    [h0, h1] = await lab();
  };

  implementations().forEach((impl, n) => {
    const port = String(25_810 + 2 * n);
    const group = `239.1.100.${81 + n}`;

    test.skipIf(!impl.available)(
      `${impl.label}: no flags and no config → wizard; answers lead into the room, the next start goes straight in`,
      async () => {
        await hosts();
        const home = mkdtempSync(join(tmpdir(), "mcchat-cfg-"));
        const cfgHome = join(home, "config");
        try {
          const argv = [...impl.argv, "--heartbeat", String(HEARTBEAT_MS)];
          const t = await terminal(h0, argv, { XDG_CONFIG_HOME: cfgHome });
          await t.waitFor(/mcchat setup[\s\S]*◆ {2}Multicast group address/);
          await t.keys("C-u");
          await t.type(group);
          await t.keys("Enter");
          await t.waitFor(/◆ {2}UDP port/);
          await t.keys("C-u");
          await t.type(port);
          await t.keys("Enter");
          await t.waitFor(/◆ {2}Text encoding on the wire/);
          await t.keys("Enter"); // auto, the default (issue 16: UTF-8 or GBK as heard)
          await t.waitFor(/◆ {2}Are classic \(legacy\) chat programs in this room\?[\s\S]*● No/);
          await t.keys("Enter"); // no (the default)
          await t.waitFor(/◆ {2}Passphrase for a private room \(empty: open room\)/);
          await t.keys("Enter"); // empty: an open room
          await t.waitFor(/◆ {2}Nickname \(up to 32 Latin letters or 10 CJK characters\)/);
          await t.keys("C-u");
          await t.type("alice");
          await t.keys("Enter");
          await t.waitFor(/◆ {2}Network interface/);
          await t.keys("Enter"); // system default
          await t.waitFor(/◆ {2}TTL/);
          await t.keys("Enter"); // 1
          const room = await t.waitFor(/^alice>$/m);
          expect(room).toContain(`joined ${group}:${port}`);
          expect(room).toContain("as alice. /help for commands.");

          const file = join(cfgHome, "mcchat", "config.json");
          expect(statSync(file).mode & 0o777).toBe(0o600);
          expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
            group,
            port: Number(port),
            encoding: "auto",
            legacy: false,
            nick: "alice",
            ttl: 1,
          });

          await t.type("/quit");
          await t.keys("Enter");
          await t.waitFor(/^EXIT=0$/m);

          // Second start: setup was done, so the saved room is joined without a question
          // (issue 16: the wizard used to ask everything again; `mcchat setup` changes it).
          const t2 = await terminal(h0, argv, { XDG_CONFIG_HOME: cfgHome });
          const screen = await t2.waitFor(/^alice>$/m);
          expect(screen).not.toMatch(/Multicast group address/);
          expect(screen).toContain(`joined ${group}:${port}`);
          await t2.keys("C-d");
          await t2.waitFor(/^EXIT=0$/m);
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      `${impl.label}: messages above a half-typed line, /who, leave and timeout notices`,
      async () => {
        await hosts();
        const flags = ["-y", "-g", group, "-p", String(Number(port) + 1)];
        flags.push("--heartbeat", String(HEARTBEAT_MS));
        const t = await terminal(h0, [...impl.argv, ...flags, "-n", "alice"]);
        await t.waitFor(/^alice>$/m);

        // bob: a second member on the other host, sending what we write to its stdin.
        const bob: Proc = h1.spawn([...impl.argv, ...flags, "-n", "bob"], { stdin: "pipe" });
        await t.waitFor(/-- bob joined \(198\.18\.0\.2\)/);

        // A half-typed line longer than the terminal is wide (it wraps)…
        const half = `half typed ${"z".repeat(120)}`;
        await t.type(half);
        await t.waitFor(/^z{38}$/m);
        // …and a message arrives.
        bob.write("hello from bob\n");
        // The message is printed first and the prompt redrawn after it: wait for both
        // (one capture can fall between the two writes).
        const line = `alice> ${half}`;
        const bobAt = (rows: string[]) => rows.findIndex((r) => / <bob> hello from bob$/.test(r));
        const redrawn = await t.settle((screen, cursor) => {
          const rows = content(screen);
          const at = bobAt(rows);
          return (
            at >= 0 &&
            new RegExp(`^${TIME} <bob> hello from bob$`).test(rows[at] ?? "") &&
            rows.length === at + 3 &&
            rows[at + 1] === line.slice(0, WIDTH) &&
            rows[at + 2] === line.slice(WIDTH) &&
            cursor.x === line.length - WIDTH &&
            cursor.y === at + 2
          );
        }, "bob's message above the redrawn half-typed line");
        let rows = content(redrawn.rows);
        const at = bobAt(rows);
        expect(rows.slice(at + 1)).toEqual([line.slice(0, WIDTH), line.slice(WIDTH)]);
        expect(redrawn.cursor).toEqual({ x: line.length - WIDTH, y: at + 2 });

        // The line readline holds is intact too: Enter sends all of it, shown once.
        await t.keys("Enter");
        await bob.waitForLine(new RegExp(`^${TIME} <alice> ${half}$`), 5000);
        // Our own message (two rows: it wraps), then the fresh prompt below it.
        rows = content(
          (
            await t.settle((screen) => {
              const r = content(screen);
              return (
                r.at(-1) === "alice>" &&
                r.some((l) => /^\d\d:\d\d:\d\d <alice> half typed z+$/.test(l))
              );
            }, "our own message and a fresh prompt")
          ).rows,
        );
        expect(rows.filter((r) => r.includes("half typed"))).toHaveLength(1);
        expect(rows.at(-1)).toBe("alice>");

        await t.type("/who");
        await t.keys("Enter");
        rows = (await t.waitFor(/-- 2 members:\n.*\n.*idle/)).split("\n");
        expect(rows).toContainEqual(expect.stringMatching(/^-- {3}alice +you$/));
        expect(rows).toContainEqual(expect.stringMatching(/^-- {3}bob +198\.18\.0\.2 +idle \d+s$/));

        // bob leaves (EOF on its stdin: BYE).
        bob.end();
        expect(await bob.waitForExit(5000)).toBe(0);
        await t.waitFor(/-- bob left \(198\.18\.0\.2\)/, 5000);

        // carol is killed: no BYE, so she times out after 3 silent heartbeat intervals.
        const carol = h1.spawn([...impl.argv, ...flags, "-n", "carol"], { stdin: "pipe" });
        await t.waitFor(/-- carol joined \(198\.18\.0\.2\)/);
        await Bun.sleep(2 * HEARTBEAT_MS); // a few heartbeats flow first
        process.kill(carol.pid, "SIGKILL");
        const killedAt = Date.now();
        await t.waitFor(/-- carol timed out \(198\.18\.0\.2\)/, 10 * HEARTBEAT_MS);
        const took = Date.now() - killedAt;
        if (process.env.MCCHAT_TEST_VERBOSE)
          console.error(`timeout notice ${took} ms after SIGKILL`);
        // Silence is measured from her last datagram (at most one interval before the
        // kill); allow a poll period and scheduling on top of the 3 intervals.
        expect(took).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 400);

        await t.type("/quit");
        await t.keys("Enter");
        await t.waitFor(/^EXIT=0$/m);
      },
      60_000,
    );
  });
});
