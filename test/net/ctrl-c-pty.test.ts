/**
 * Issue 16: Ctrl-C in the room clears a half-typed line first (irssi, weechat, a shell) and
 * leaves on an empty line, exit 0 with a BYE (README "Leaving"). On a real terminal: mcchat in
 * a tmux pane inside a lab host, a second member on the other host hearing what is sent.
 */
import { afterEach, expect, test } from "bun:test";
import { events, waitEvent } from "../helpers/events.ts";
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

const WIDTH = 80;
const HEARTBEAT_MS = "500";
const terminal = panesPerTest({ width: WIDTH, height: 30, stderrOnScreen: true });

/** Rows up to the last non-empty one. */
function content(rows: string[]): string[] {
  const out = [...rows];
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

describeLab("Ctrl-C in the room (tmux)", () => {
  const lab = sharedLab(2);
  let h0: Host;
  let h1: Host;

  implementations().forEach((impl, n) => {
    const group = `239.1.100.${121 + n}`;
    const room = (port: number) => [
      "-y",
      "-g",
      group,
      "-p",
      String(port),
      "--heartbeat",
      HEARTBEAT_MS,
    ];

    test.skipIf(!impl.available)(
      `${impl.label}: a draft + Ctrl-C clears the draft and stays; Ctrl-C again leaves, exit 0`,
      async () => {
        [h0, h1] = await lab();
        const flags = room(26_810 + 10 * n);
        const bob = h1.spawn([...impl.argv, ...flags, "--json", "-n", "bob"], { stdin: "pipe" });
        const t = await terminal(h0, [...impl.argv, ...flags, "-n", "alice"]);
        await t.waitFor(/^alice>$/m);
        await waitEvent(bob, (e) => e.type === "join" && e.nick === "alice", "bob sees alice");

        // A draft that wraps past the terminal's width.
        const draft = `half typed ${"z".repeat(100)}`;
        await t.type(draft);
        await t.waitFor(/^z{20,}$/m);
        await t.keys("C-c");
        // Cleared (every row of it), the room still there, one hint.
        const cleared = await t.settle((rows) => {
          const r = content(rows);
          return r.at(-1) === "alice>" && !r.some((l) => l.includes("half typed"));
        }, "the draft cleared, an empty prompt");
        expect(content(cleared.rows).filter((r) => r.includes("z".repeat(20)))).toEqual([]);
        expect(cleared.rows).toContain("-- line cleared (Ctrl-C again to leave)");
        expect(cleared.rows.join("\n")).not.toMatch(/^EXIT=/m);

        // Still in the room: what is typed next reaches bob, and only that.
        await t.type("still here");
        await t.keys("Enter");
        await waitEvent(bob, (e) => e.type === "message" && e.text === "still here", "bob hears");
        await t.waitFor(/<alice> still here/);

        // A second draft, cleared: the hint is not said again.
        await t.type("another draft");
        await t.waitFor(/^alice> another draft$/m);
        await t.keys("C-c");
        const again = await t.settle(
          (rows) => content(rows).at(-1) === "alice>",
          "the second draft cleared",
        );
        expect(again.rows.filter((r) => r.startsWith("-- line cleared"))).toHaveLength(1);

        // Ctrl-C on the empty line leaves, in order: exit 0 and a BYE (bob sees "left").
        await t.keys("C-c");
        await t.waitFor(/^EXIT=0$/m);
        await waitEvent(
          bob,
          (e) => e.type === "leave" && e.nick === "alice" && e.reason === "bye",
          "bob sees alice leave (BYE)",
        );
        const texts = events(bob)
          .filter((e) => e.type === "message")
          .map((e) => e.text);
        expect(texts).toEqual(["still here"]);
      },
      60_000,
    );

    test.skipIf(!impl.available)(
      `${impl.label}: Ctrl-C on an empty line leaves at once, exit 0`,
      async () => {
        [h0, h1] = await lab();
        const flags = room(26_811 + 10 * n);
        const bob = h1.spawn([...impl.argv, ...flags, "--json", "-n", "bob"], { stdin: "pipe" });
        const t = await terminal(h0, [...impl.argv, ...flags, "-n", "alice"]);
        await t.waitFor(/^alice>$/m);
        await waitEvent(bob, (e) => e.type === "join" && e.nick === "alice", "bob sees alice");
        await t.keys("C-c");
        const screen = await t.waitFor(/^EXIT=0$/m);
        expect(screen).not.toContain("line cleared");
        await waitEvent(
          bob,
          (e) => e.type === "leave" && e.nick === "alice" && e.reason === "bye",
          "bob sees alice leave (BYE)",
        );
      },
      60_000,
    );
  });
});
