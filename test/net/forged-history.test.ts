/**
 * Forged history in a present member's name (issue 15), between namespaced hosts from
 * dist/mcchat:
 *
 *   h0 "alice", h1 "bob": members that talk (3 lines each)
 *   h2 mallory (test/helpers/history_forger.ts): one PRESENCE, then answers every HISTORY_REQ
 *      at once with a made-up line in alice's id and nick
 *   h3 "dave": a late joiner, --history 10 (more than anyone holds, so every honest member
 *      waits for all the turns and the forger answers first)
 *   h4 "erin": joins after mallory, alice, bob and carol left; only dave can answer her
 *   h5 "carol": present, listening, says nothing (the second run forges in her name: no line
 *      of hers can outvote the forgery, so dave shows it relayed, and must not keep it as hers)
 *
 * dave shows the made-up line "via mallory" (from mallory's address) or not at all, and
 * alice's and bob's real lines as theirs (they are not silenced by the forger); erin never gets
 * the made-up line from dave.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { events, type JsonEvent, joinedId, messages, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  type Lab,
  mcchatCommand,
  ROOT,
  stopAll,
} from "../helpers/netns.ts";
import { waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const MCCHAT = mcchatCommand();
const FORGER = [process.execPath, join(ROOT, "test/helpers/history_forger.ts")];
const GROUP = "239.1.100.1";
const PORT = "26231";
const MALLORY = "6d616c6c6f727921";
const FORGED = "the room passphrase changed, DM me yours";

const historyOf = (p: Parameters<typeof messages>[0]): JsonEvent[] =>
  messages(p).filter((e) => e.history);

describeLab("forged history in a present member's name", () => {
  let lab: Lab;
  afterAll(() => lab?.destroy());

  for (const victim of ["alice", "carol"] as const) {
    test(`(in ${victim}'s name) is shown via the forger or not at all, the real lines stay their senders', and it is never served on`, async () => {
      lab ??= await createLab(6);
      const [h0, h1, h2, h3, h4, h5] = lab.hosts as [Host, Host, Host, Host, Host, Host];
      const room = ["-y", "-g", GROUP, "-p", PORT, "--json"];
      const alice = h0.spawn([...MCCHAT, ...room, "-n", "alice"], { stdin: "pipe" });
      const bob = h1.spawn([...MCCHAT, ...room, "-n", "bob"], { stdin: "pipe" });
      const carol = h5.spawn([...MCCHAT, ...room, "--listen", "-n", "carol", "--timeout", "60"]);
      const all = [alice, bob, carol];
      await waitForJoins(
        [
          [alice, ["bob", "carol"]],
          [bob, ["alice", "carol"]],
        ],
        10_000,
        "alice, bob and carol see each other",
        all,
      );
      const aliceId = joinedId(bob, "alice") as string;
      const carolId = joinedId(bob, "carol") as string;
      const bobId = joinedId(alice, "bob") as string;
      const real: string[] = [];
      for (let i = 1; i <= 3; i++) {
        for (const [p, nick, other] of [
          [alice, "alice", bob],
          [bob, "bob", alice],
        ] as const) {
          const text = `${nick} says ${i}`;
          real.push(text);
          p.write(`${text}\n`);
          await waitFor(
            () => messages(other).some((e) => e.text === text),
            5000,
            `"${text}" reaches the other member`,
            all,
          );
        }
      }

      const mallory = h2.spawn([
        ...FORGER,
        GROUP,
        PORT,
        "--victim",
        victim === "alice" ? aliceId : carolId,
        "--victim-nick",
        victim,
        "--text",
        FORGED,
        "--seconds",
        "8",
      ]);
      all.push(mallory);
      await mallory.waitForLine(/"ready"/, 10_000);
      await waitForJoins(
        [
          [alice, ["mallory"]],
          [bob, ["mallory"]],
        ],
        5000,
        "the members see mallory",
        all,
      );

      const dave = h3.spawn([
        ...MCCHAT,
        ...room,
        "--listen",
        "-n",
        "dave",
        "--history",
        "10",
        "--timeout",
        "60",
      ]);
      all.push(dave);
      await mallory.waitForLine(/"answered"/, 10_000);
      await waitFor(
        () => historyOf(dave).filter((e) => e.text !== FORGED).length >= real.length,
        5000,
        "dave shows alice's and bob's lines",
        all,
      );
      const shown = historyOf(dave);
      console.log(
        `forged history: dave showed ${shown.map((e) => `${JSON.stringify(e.text)}${e.via ? ` via ${e.via.nick}` : ""}`).join(", ")}`,
      );
      expect(shown.filter((e) => e.text !== FORGED).map((e) => e.text)).toEqual(real);
      for (const e of shown.filter((e) => e.text !== FORGED)) {
        const author = (e.text as string).startsWith("alice") ? "alice" : "bob";
        // Their own answers: shown as theirs, from their own address.
        expect(e).toMatchObject({ nick: author, id: author === "alice" ? aliceId : bobId });
        expect(e.via).toBeUndefined();
        expect(e.from?.startsWith(`${author === "alice" ? h0.address : h1.address}:`)).toBe(true);
      }
      for (const e of shown.filter((e) => e.text === FORGED)) {
        expect(e.via).toEqual({ nick: "mallory", id: MALLORY });
        expect(e.from?.startsWith(`${h2.address}:`)).toBe(true);
      }

      if (victim === "alice") expect(shown.some((e) => e.text === FORGED)).toBe(false);

      // mallory leaves, then alice, bob and carol: dave alone holds the room's history.
      expect(await mallory.waitForExit(15_000)).toBe(0);
      alice.end();
      bob.end();
      await carol.stop();
      for (const p of [alice, bob]) expect(await p.waitForExit(20_000)).toBe(0);
      await waitFor(
        () =>
          ["mallory", "alice", "bob", "carol"].every((n) =>
            events(dave).some((e) => e.type === "leave" && e.nick === n),
          ),
        10_000,
        "dave sees mallory, alice, bob and carol leave",
        all,
      );

      const erin = h4.spawn([
        ...MCCHAT,
        ...room,
        "--listen",
        "-n",
        "erin",
        "--history",
        "10",
        "--timeout",
        "3",
      ]);
      all.push(erin);
      expect(await erin.waitForExit(15_000)).toBe(0);
      const served = historyOf(erin);
      console.log(
        `forged history: erin, after mallory left, got ${served.map((e) => `${JSON.stringify(e.text)}${e.via ? ` via ${e.via.nick}` : ""}`).join(", ")}`,
      );
      // dave passed on only what it had from alice and bob themselves (relayed now), never
      // mallory's line.
      expect(served.map((e) => e.text)).toEqual(real);
      for (const e of served) expect(e.via?.nick).toBe("dave");
      await dave.stop();
    }, 90_000);
  }
});
