/**
 * Issue 15, "False alarms after every pause": a pipe sender that waits 9 s between lines must
 * not say "not keeping up" / "caught up" about a healthy member. mcchat 0.2 ran the stall clock
 * from the member's last report, so the line after any pause longer than the stall time (3
 * heartbeats, 6 s) found the member "stalled" at once, then "caught up" when its report came.
 *
 *   h0 198.18.0.1  sender: `mcchat -n tx`, lines written to its stdin 9 s apart, then EOF
 *                  (or alice, typing in the chat room in a tmux pane, as the issue found it)
 *   h1 198.18.0.2  listener: `mcchat --listen --json --count 3`
 */
import { afterEach, expect, test } from "bun:test";
import { messageTexts, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  BINARY,
  describeLab,
  type Host,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const HAVE_BIN = implementations().some((i) => i.label !== "source" && i.available);
/** The pause between lines: longer than the stall time (3 heartbeats of 2 s). */
const PAUSE_MS = 9_000;
const GROUP = "239.1.73.15";
const FLOW_WARNING = /not keeping up|caught up/;
const terminal = panesPerTest({ width: 160, height: 40, stderrOnScreen: true });

describeLab(
  `a pipe sender that pauses between lines${HAVE_BIN ? "" : " [skipped: dist/mcchat not built]"}`,
  () => {
    const hosts = sharedLab(2);
    (HAVE_BIN ? test : test.skip)(
      "9 s between lines: no 'not keeping up' / 'caught up' warning, and the listener gets every line",
      async () => {
        const [h0, h1] = (await hosts()) as [Host, Host];
        const room = ["-y", "-g", GROUP, "-p", "27315"];
        const lis = h1.spawn([BINARY, ...room, "--listen", "--json", "--count", "3", "-n", "lis"]);
        const tx = h0.spawn([BINARY, ...room, "--json", "-n", "tx"], { stdin: "pipe" });
        const procs = [tx, lis];
        await waitFor(
          () => tx.lines().some((l) => l.includes('"type":"join"') && l.includes('"nick":"lis"')),
          15_000,
          "the sender sees the listener join",
          procs,
        );
        const lines = ["one", "two", "three"];
        for (const [i, line] of lines.entries()) {
          if (i > 0) await Bun.sleep(PAUSE_MS); // the pause is the scenario, not a wait
          tx.write(`${line}\n`);
          await waitFor(
            () => messageTexts(lis).includes(line),
            10_000,
            `the listener gets "${line}"`,
            procs,
          );
        }
        tx.end();
        const txCode = await tx.waitForExit(30_000);
        const lisCode = await lis.waitForExit(30_000);
        const warnings = `${tx.stderr}\n${tx.stdout}`
          .split("\n")
          .filter((l) => FLOW_WARNING.test(l));
        console.log(
          `pipe sender, ${PAUSE_MS / 1000} s pauses: listener got ${messageTexts(lis).length} lines; ${warnings.length} flow warnings on the sender${warnings.length ? `: ${JSON.stringify(warnings)}` : ""}`,
        );
        expect(messageTexts(lis)).toEqual(lines);
        expect(warnings).toEqual([]);
        expect(txCode).toBe(0);
        expect(lisCode).toBe(0);
      },
      90_000,
    );

    (HAVE_BIN ? test : test.skip)(
      "the chat room in tmux, 9 s between typed lines: no flow warning in the pane",
      async () => {
        const [h0, h1] = (await hosts()) as [Host, Host];
        const room = ["-y", "-g", GROUP, "-p", "27317"];
        const lis = h1.spawn([BINARY, ...room, "--listen", "--json", "--count", "3", "-n", "lis"]);
        const pane = await terminal(h0, [BINARY, ...room, "-n", "alice"]);
        await pane.waitFor(/lis[^\n]*joined/, 15_000);
        const lines = ["one", "two", "three"];
        for (const [i, line] of lines.entries()) {
          if (i > 0) await Bun.sleep(PAUSE_MS); // the pause is the scenario, not a wait
          await pane.type(line);
          await pane.keys("Enter");
          await waitFor(
            () => messageTexts(lis).includes(line),
            10_000,
            `the listener gets "${line}"`,
            [lis],
          );
        }
        // Leaving waits for the listener's reports of our last line: by then any warning a
        // stall clock started at the last report would have been printed.
        expect(await lis.waitForExit(30_000)).toBe(0);
        await pane.type("/quit");
        await pane.keys("Enter");
        const screen = await pane.waitFor(/EXIT=\d+/, 15_000);
        const warnings = screen.split("\n").filter((l) => FLOW_WARNING.test(l));
        console.log(
          `chat room, ${PAUSE_MS / 1000} s pauses: listener got ${messageTexts(lis).length} lines; ${warnings.length} flow warnings in alice's pane${warnings.length ? `: ${JSON.stringify(warnings)}` : ""}`,
        );
        expect(messageTexts(lis)).toEqual(lines);
        expect(warnings).toEqual([]);
      },
      90_000,
    );
  },
);
