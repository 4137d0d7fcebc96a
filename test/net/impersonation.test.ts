/**
 * Nicks and lines that cannot pass for others (issue 15), from dist/mcchat between lab hosts,
 * read off an 80-column tmux pane (a real terminal, which wraps lines itself):
 *
 * - look-alike nicks: `alice` joins first, then members on h0 called `alice` + ZWJ, `ali` +
 *   soft hyphen + `ce`, `alice` + Hangul filler and `alic` + Cyrillic `е`; each says a line; the
 *   pane on h1 shows alice (the first holder, issue 16) plain and every look-alike with its
 *   `#id` suffix, five different names, and `<alice>` only on alice's own line;
 * - a padded line (in the chat room, and from `--listen` on a terminal): mallory sends `brb` + 58 spaces + `18:32:55 <alice> admins: paste your
 *   ~/.ssh/id_rsa …`, which fills the pane's row exactly up to the fake time stamp; no row of
 *   the pane starts with a time stamp and `<alice>` but alice's own line.
 */
import { afterEach, expect, test } from "bun:test";
import {
  assertPrivateNetns,
  BINARY_LABEL,
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

const WIDTH = 80;
const HEARTBEAT_MS = 500;
const GROUP = "239.1.100.151";
const SPEAKER = /^\d\d:\d\d:\d\d <alice>/;

const terminal = panesPerTest({ width: WIDTH, height: 40, stderrOnScreen: true });
const binary = implementations().find((i) => i.label === BINARY_LABEL);

describeLab("nicks and lines that cannot pass for others (tmux, 80 columns)", () => {
  const lab = sharedLab(2);

  /** The watcher's pane on h1 and a member factory on h0, in a room on `port`. */
  async function room(port: number, listen = false) {
    const [h0, h1]: [Host, Host] = await lab();
    const argv = binary?.argv ?? [];
    const flags = ["-y", "-g", GROUP, "-p", String(port), "--heartbeat", String(HEARTBEAT_MS)];
    const watcher = [...argv, ...flags, "-n", "carol", ...(listen ? ["--listen"] : [])];
    const pane = await terminal(h1, watcher);
    await pane.waitFor(listen ? /^mcchat: joined/m : /^carol>$/m);
    const member = (nick: string): Proc =>
      h0.spawn([...argv, ...flags, "-n", nick], { stdin: "pipe" });
    return { pane, member };
  }

  test.skipIf(!binary?.available)(
    "look-alike nicks (ZWJ, soft hyphen, Hangul filler, Cyrillic е) joining after alice each get their #id",
    async () => {
      const { pane, member } = await room(26_150);
      const nicks = ["alice", "alice\u200D", "ali\u00ADce", "alice\u3164", "alic\u0435"];
      // alice first: the first holder keeps the nick plain, only later look-alikes are marked.
      const first = member("alice");
      await pane.waitFor(/alice joined \(198\.18\.0\.1\)/, 15_000);
      const members = [first, ...nicks.slice(1).map((n) => member(n))];
      await pane.waitFor(/(joined \(198\.18\.0\.1\)[\s\S]*){5}/, 15_000);
      for (const [k, m] of members.entries()) m.write(`line ${k} from member ${k}\n`);
      const screen = await pane.waitFor(/(<[^\n]*> line \d from member \d[\s\S]*){5}/, 15_000);
      const rows = screen.split("\n");
      const names = nicks.map((_, k) => {
        const row = rows.find((r) => r.endsWith(`> line ${k} from member ${k}`)) ?? "";
        return /^\d\d:\d\d:\d\d <(.*)> line/.exec(row)?.[1];
      });
      // alice plain, each look-alike with its suffix, five different names; <alice> only on
      // alice's own line.
      expect(names[0]).toBe("alice");
      for (const name of names.slice(1)) expect(name).toMatch(/^ali.*#[0-9a-f]{4,}$/);
      expect(new Set(names).size).toBe(5);
      expect(rows.filter((r) => r.includes("<alice>"))).toEqual([
        expect.stringMatching(/<alice> line 0 from member 0$/),
      ]);
      for (const m of members) m.end();
    },
    60_000,
  );

  for (const [mode, listen, port] of [
    ["the chat room", false, 26_152],
    ["--listen on a terminal", true, 26_154],
  ] as const) {
    test.skipIf(!binary?.available)(
      `${mode}: a line padded to the pane's width cannot fake a line from alice`,
      async () => {
        const { pane, member } = await room(port, listen);
        const alice = member("alice");
        const mallory = member("mallory");
        await pane.waitFor(/alice joined[\s\S]*mallory joined|mallory joined[\s\S]*alice joined/);
        alice.write("good morning\n");
        await pane.waitFor(/<alice> good morning$/m);
        // "HH:MM:SS <mallory> brb" is 22 columns: 58 spaces fill the row to the fake time stamp.
        const fake = "18:32:55 <alice> admins: paste your ~/.ssh/id_rsa here, the audit needs it";
        mallory.write(`brb${" ".repeat(58)}${fake}\n`);
        const rows = (await pane.waitFor(/id_rsa here/)).split("\n");
        expect(rows.filter((r) => SPEAKER.test(r))).toEqual([
          expect.stringMatching(/^\d\d:\d\d:\d\d <alice> good morning$/),
        ]);
        // The fake text is there, on an indented continuation row under mallory's line.
        const at = rows.findIndex((r) => r.includes("<mallory> brb"));
        expect(at).toBeGreaterThanOrEqual(0);
        expect(rows[at + 1]).toMatch(/^ +18:32:55 <alice> admins/);
        alice.end();
        mallory.end();
      },
      60_000,
    );
  }
});
