/**
 * The setup wizard as a new user meets it, in a tmux pane (a PTY) on a lab host, with the
 * compiled binary (issue 16): it runs on the first start only, its defaults are placeholders,
 * it checks answers with the command line's rules, and keys typed (pasted) ahead are kept.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const terminal = panesPerTest({ width: 120, height: 40, stderrOnScreen: true });
const binary = implementations().find((i) => i.label !== "source");
const when = test.skipIf(!binary?.available);
const argv = binary?.argv ?? [];
const GROUP_PROMPT = /◆ {2}Multicast group address/;

describeLab("the setup wizard on a terminal (dist/mcchat, tmux)", () => {
  const lab = sharedLab(1);
  let h0: Host;
  let home: string;
  let cfgHome: string;
  const configFile = () => join(cfgHome, "mcchat", "config.json");
  const start = async (extra: string[] = []) => {
    [h0] = await lab();
    home = mkdtempSync(join(tmpdir(), "mcchat-wiz-"));
    cfgHome = join(home, "config");
    return terminal(h0, [...argv, ...extra], { XDG_CONFIG_HOME: cfgHome });
  };
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  // It used to ask all its questions on every start; only -y skipped them.
  when(
    "with a saved config, mcchat on a terminal is in the room without a question",
    async () => {
      [h0] = await lab();
      home = mkdtempSync(join(tmpdir(), "mcchat-wiz-"));
      cfgHome = join(home, "config");
      mkdirSync(join(cfgHome, "mcchat"), { recursive: true, mode: 0o700 });
      const saved = { group: "239.1.104.1", port: 26410, encoding: "utf8", nick: "erin", ttl: 1 };
      writeFileSync(configFile(), JSON.stringify(saved), { mode: 0o600 });
      const t = await terminal(h0, argv, { XDG_CONFIG_HOME: cfgHome });
      const screen = await t.waitFor(/^erin>$/m);
      expect(screen).toContain("joined 239.1.104.1:26410");
      expect(screen).not.toMatch(/mcchat setup|Multicast group/);
      await t.keys("C-d");
      await t.waitFor(/^EXIT=0$/m);
    },
    30_000,
  );

  // Defaults were pre-filled text: typing 239.5.5.5 gave 239.1.100.1239.5.5.5.
  when(
    "first run: typing over a default replaces it, and the answers lead into the room",
    async () => {
      const t = await start();
      await t.waitFor(GROUP_PROMPT);
      await t.type("239.5.5.5");
      await t.keys("Enter");
      await t.waitFor(/◆ {2}UDP port/);
      await t.type("26412");
      await t.keys("Enter");
      for (const prompt of [/◆ {2}Text encoding/, /◆ {2}Are classic/, /◆ {2}Passphrase/]) {
        await t.waitFor(prompt);
        await t.keys("Enter");
      }
      await t.waitFor(/◆ {2}Nickname/);
      await t.type("fay");
      await t.keys("Enter");
      await t.waitFor(/◆ {2}Network interface/);
      await t.keys("Enter");
      await t.waitFor(/◆ {2}TTL/);
      await t.keys("Enter");
      const screen = await t.waitFor(/^fay>$/m);
      expect(screen).toContain("joined 239.5.5.5:26412");
      expect(screen).not.toContain("239.1.100.1239.5.5.5");
      expect(JSON.parse(readFileSync(configFile(), "utf8"))).toMatchObject({
        group: "239.5.5.5",
        port: 26412,
        nick: "fay",
      });
      await t.keys("C-d");
      await t.waitFor(/^EXIT=0$/m);
    },
    30_000,
  );

  // It saved port 65535, said "Setup done", then exited 2 (a framed room needs 65536), and
  // took 224.0.0.1 (all hosts) without a word.
  when(
    "first run: 224.0.0.1 is warned about and port 65535 refused in the wizard itself",
    async () => {
      const t = await start();
      await t.waitFor(GROUP_PROMPT);
      await t.type("224.0.0.1");
      await t.keys("Enter");
      await t.waitFor(/Group 224\.0\.0\.1 is reserved \(the all-hosts group/);
      await t.waitFor(/◆ {2}UDP port/);
      await t.type("65535");
      await t.keys("Enter");
      await t.waitFor(/Port 65535: a framed room also uses port 65536, which does not exist/);
      expect(await t.screen()).not.toMatch(/Text encoding/);
      await t.keys("BSpace", "BSpace", "BSpace", "BSpace", "BSpace");
      await t.type("26414");
      await t.keys("Enter");
      await t.waitFor(/◆ {2}Text encoding/);
      await t.keys("C-c");
      await t.waitFor(/^EXIT=130$/m);
    },
    30_000,
  );

  // Pasting `239.1.100.1⏎26000⏎` from a teacher's slide filled the group and lost the port.
  when(
    "first run: a pasted group⏎port⏎ fills both answers",
    async () => {
      const t = await start();
      await t.waitFor(GROUP_PROMPT);
      await t.type("239.1.104.7\r26416\r");
      const screen = await t.waitFor(/◆ {2}Text encoding/);
      expect(screen).toMatch(/│ {2}239\.1\.104\.7$/m);
      expect(screen).toMatch(/│ {2}26416$/m);
      await t.keys("C-c");
      await t.waitFor(/^EXIT=130$/m);
    },
    30_000,
  );

  // The command line says it too (as a warning: the room works, over the link's own traffic).
  when(
    "the command line warns about 224.0.0.1 as well",
    async () => {
      const t = await start([
        "-y",
        "-g",
        "224.0.0.1",
        "-p",
        "26418",
        "--listen",
        "--timeout",
        "0.3",
      ]);
      await t.waitFor(/^EXIT=\d+$/m);
      // -J: wrapped rows joined, as the line was written.
      const screen = await t.tmux("capture-pane", "-p", "-J", "-t", "main");
      expect(screen).toContain(
        "mcchat: warning: group 224.0.0.1 is reserved (the all-hosts group: every host on the link receives it); use a 239.x.y.z group for a room",
      );
    },
    30_000,
  );
});
