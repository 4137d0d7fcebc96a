/**
 * History for a late joiner (issue "No message lost", PROTOCOL.md HISTORY_REQ):
 *
 *   h0  "alice", h1 "bob": members that talk in turns (12 messages, interleaved in time)
 *   h2  a late joiner: --listen --json --history 5
 *
 * The late joiner shows exactly the room's last 5 messages, once each, marked
 * `history: true`, oldest first across both senders, and nothing older; it does not NACK
 * or deliver the members' earlier messages live. The members, already present, do not see
 * the history answers as new messages.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { events, joinedId, messages, statsOf, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  type Lab,
  mcchatCommand,
  stopAll,
} from "../helpers/netns.ts";
import { waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const MCCHAT = mcchatCommand();

describeLab("history for a late joiner", () => {
  let lab: Lab;
  afterAll(() => lab?.destroy());

  test("--history 5 shows exactly the last 5 messages of two senders once, in time order, nothing older", async () => {
    lab ??= await createLab(3);
    const [h0, h1, h2] = lab.hosts as [Host, Host, Host];
    const room = ["-y", "-p", "26201", "--json", "--stats"];
    const alice = h0.spawn([...MCCHAT, ...room, "-n", "alice"], { stdin: "pipe" });
    const bob = h1.spawn([...MCCHAT, ...room, "-n", "bob"], { stdin: "pipe" });
    const all = [alice, bob];
    await waitForJoins(
      [
        [alice, ["bob"]],
        [bob, ["alice"]],
      ],
      10_000,
      "alice and bob see each other",
      all,
    );
    const aliceId = joinedId(bob, "alice");
    const bobId = joinedId(alice, "bob");

    // Alternate, a few ms apart, so the send times interleave: alice 1, bob 1, alice 2, ...
    const said: { nick: string; text: string }[] = [];
    for (let i = 1; i <= 6; i++) {
      for (const [p, nick] of [
        [alice, "alice"],
        [bob, "bob"],
      ] as const) {
        const text = `${nick} says ${i}`;
        said.push({ nick, text });
        p.write(`${text}\n`);
        await waitFor(
          () => messages(nick === "alice" ? bob : alice).some((e) => e.text === text),
          5000,
          `"${text}" reaches the other member`,
          all,
        );
        await Bun.sleep(20);
      }
    }

    const late = h2.spawn([
      ...MCCHAT,
      "-y",
      "-p",
      "26201",
      "--listen",
      "--json",
      "--stats",
      "-n",
      "late",
      "--history",
      "5",
      "--timeout",
      "3",
    ]);
    all.push(late);
    // --timeout without --count: exit 0 after 3 s, long after the 0.7 s history wait.
    expect(await late.waitForExit(10_000)).toBe(0);
    alice.end();
    bob.end();
    for (const p of [alice, bob]) expect(await p.waitForExit(20_000)).toBe(0);

    const shown = messages(late);
    const last5 = said.slice(-5);
    expect(last5.map((m) => m.text)).toEqual([
      "bob says 4",
      "alice says 5",
      "bob says 5",
      "alice says 6",
      "bob says 6",
    ]);
    expect(shown.map((e) => e.text)).toEqual(last5.map((m) => m.text));
    for (const [k, e] of shown.entries()) {
      const m = last5[k] as { nick: string };
      expect(e).toMatchObject({
        history: true,
        nick: m.nick,
        id: m.nick === "alice" ? aliceId : bobId,
      });
    }
    // Oldest first by send time.
    const times = shown.map((e) => Date.parse(e.time));
    expect(times.every((t, k) => k === 0 || t >= (times[k - 1] as number))).toBe(true);
    // Nothing live from before the join: no NACK for the members' history, no loss.
    const s = statsOf(late);
    expect(s).toMatchObject({ sent: 0, received: 0, nacksSent: 0, lost: 0 });
    expect(events(late).filter((e) => e.type === "lost")).toEqual([]);

    // The members saw each other's 6 messages once each; the history answers are not new.
    for (const [p, other] of [
      [alice, "bob"],
      [bob, "alice"],
    ] as const) {
      const texts = messages(p).map((e) => e.text);
      expect(texts).toEqual(said.filter((m) => m.nick === other).map((m) => m.text));
      expect(messages(p).some((e) => e.history)).toBe(false);
    }
    console.log(
      `history: late joiner showed ${shown.map((e) => JSON.stringify(e.text)).join(", ")}`,
    );
  }, 40_000);
});
