/**
 * Who keeps a nick (issue 16), from dist/mcchat between lab hosts, each member in a tmux pane:
 *
 * - anna (h0) and carol (h1) are in the room; andy (h2) types `/nick anna`: anna's lines stay
 *   `<anna>` on anna's and carol's screens and on andy's; andy's lines carry `anna#<id>`
 *   everywhere, and andy is told "anna is taken; others see you as anna#<id>";
 * - the same when the newcomer joins with `-n anna`;
 * - carol says "anna: …": anna's pane shows the line highlighted (inverse) and rings the bell
 *   (BEL in the pane's raw output); a line not naming her rings nothing.
 */

import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  assertPrivateNetns,
  BINARY_LABEL,
  describeLab,
  type Host,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Pane, panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const HEARTBEAT_MS = 500;
const GROUP = "239.1.100.161";

const terminal = panesPerTest({ width: 120, height: 40, stderrOnScreen: true });
const binary = implementations().find((i) => i.label === BINARY_LABEL);

/** The name shown before `text` on a pane's screen (`<name> text`), or undefined. */
function speaker(screen: string, text: string): string | undefined {
  const row = screen.split("\n").find((r) => r.endsWith(`> ${text}`));
  return row ? /^\d\d:\d\d:\d\d <(.*)> /.exec(row)?.[1] : undefined;
}

/**
 * `nick` shown as present: its own "joined" line (it joined after us), or in the names line
 * of the members already there when we joined (`-- in the room (2): anna, carol`).
 */
const here = (nick: string) =>
  new RegExp(`${nick} joined|in the room \\(\\d+\\): (?:[^\\n]*, )?${nick}(?:,| \\+|$)`, "m");

describeLab("the first holder of a nick keeps it (tmux panes)", () => {
  const lab = sharedLab(3);

  async function member(host: Host, port: number, nick: string, extra: string[] = []) {
    const argv = binary?.argv ?? [];
    const flags = ["-y", "-g", GROUP, "-p", String(port), "--heartbeat", String(HEARTBEAT_MS)];
    const pane = await terminal(host, [...argv, ...flags, "-n", nick, ...extra]);
    return pane;
  }

  async function say(pane: Pane, text: string): Promise<void> {
    await pane.type(text);
    await pane.keys("Enter");
  }

  /** anna's and andy's lines as each of the three screens shows them. */
  async function check(anna: Pane, carol: Pane, andy: Pane): Promise<void> {
    await say(anna, "from the real anna");
    await say(andy, "from the newcomer");
    const wanted =
      /from the real anna[\s\S]*from the newcomer|from the newcomer[\s\S]*from the real anna/;
    for (const [who, pane] of [
      ["anna", anna],
      ["carol", carol],
      ["andy", andy],
    ] as const) {
      const screen = await pane.waitFor(wanted, 10_000);
      expect({ who, name: speaker(screen, "from the real anna") }).toEqual({ who, name: "anna" });
      expect({ who, name: speaker(screen, "from the newcomer") }).toEqual({
        who,
        name: expect.stringMatching(/^anna#[0-9a-f]{4,}$/),
      });
    }
    // andy was told how the others see it, with the same name they show.
    const andyScreen = await andy.waitFor(/anna is taken; others see you as anna#/);
    const told = /others see you as (anna#[0-9a-f]+)/.exec(andyScreen)?.[1];
    expect(speaker(await carol.screen(), "from the newcomer")).toBe(told);
    expect(speaker(await anna.screen(), "from the newcomer")).toBe(told);
  }

  test.skipIf(!binary?.available)(
    "/nick anna while anna is present: anna stays anna on every screen; andy is told",
    async () => {
      const [h0, h1, h2] = await lab();
      const port = 26_471;
      const anna = await member(h0, port, "anna");
      await anna.waitFor(/^anna>/m);
      const carol = await member(h1, port, "carol");
      const andy = await member(h2, port, "andy");
      await anna.waitFor(/andy joined/);
      await anna.waitFor(/carol joined/);
      await carol.waitFor(/andy joined/);
      await andy.waitFor(here("anna"));
      await andy.waitFor(here("carol"));
      await say(andy, "/nick anna");
      await anna.waitFor(/andy is now known as anna#/);
      await carol.waitFor(/andy is now known as anna#/);
      await check(anna, carol, andy);
      expect(await anna.screen()).not.toMatch(/anna#[0-9a-f]+> from the real anna/);
    },
    60_000,
  );

  test.skipIf(!binary?.available)(
    "-n anna while anna is present: anna stays anna on every screen; the newcomer is told once",
    async () => {
      const [h0, h1, h2] = await lab();
      const port = 26_473;
      const anna = await member(h0, port, "anna");
      await anna.waitFor(/^anna>/m);
      const carol = await member(h1, port, "carol");
      await anna.waitFor(/carol joined/);
      const andy = await member(h2, port, "anna");
      await anna.waitFor(/anna#[0-9a-f]+ joined/);
      await carol.waitFor(/anna#[0-9a-f]+ joined/);
      // The newcomer has heard anna (a line from a member not heard yet cannot be placed).
      await andy.waitFor(here("anna"));
      await check(anna, carol, andy);
      const told = (await andy.screen()).split("\n").filter((r) => r.includes("is taken"));
      expect(told.length).toBe(1);
    },
    60_000,
  );

  test.skipIf(!binary?.available)(
    "a line naming anna is highlighted on her screen and rings the bell",
    async () => {
      const [h0, h1] = await lab();
      const port = 26_475;
      const anna = await member(h0, port, "anna");
      await anna.waitFor(/^anna>/m);
      await anna.pipeOutput();
      const carol = await member(h1, port, "carol");
      await anna.waitFor(/carol joined/);
      await carol.waitFor(/anna joined/);
      await say(carol, "nothing for her");
      await anna.waitFor(/nothing for her/);
      const log = () => readFileSync(anna.logFile, "latin1");
      expect(log()).not.toContain("\x07");
      await say(carol, "ANNA: lunch?");
      await anna.waitFor(/ANNA: lunch\?/);
      const deadline = Date.now() + 5000;
      while (!log().includes("\x07") && Date.now() < deadline) await Bun.sleep(50);
      expect(log()).toContain("\x07");
      // The line itself is drawn in inverse video.
      const row = log()
        .split("\n")
        .find((l) => l.includes("lunch?"));
      expect(row).toContain("\x1b[7m");
    },
    60_000,
  );
});
