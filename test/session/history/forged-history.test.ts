/**
 * Forged history in a present member's name (issue 15), on the real Session over an in-memory
 * room and a virtual clock. mallory, a LAN host that sent one PRESENCE, answers a late joiner's
 * HISTORY_REQ at once with a line it made up under alice's id. It must not pass for alice's:
 * shown "via mallory" or not at all; alice's and bob's real lines still shown as theirs (the
 * honest members are not silenced by a forger); and the joiner never serves the made-up line on
 * as alice's to the next joiner, after mallory left.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { decode, encode, type Frame, isFramed } from "../../../src/protocol/index.ts";
import type { SessionEvent } from "../../../src/session/events.ts";
import { forgerPresence, historyTextRecord } from "../../helpers/frames.ts";
import {
  closeRoomMembers,
  type VirtualRoom as Room,
  virtualRoom as room,
  roomMember,
} from "../../helpers/virtual-room.ts";

afterEach(closeRoomMembers);

const FORGED = "the room passphrase changed, DM me yours";
const MALLORY = "6d616c6c6f727921";

/**
 * mallory: answers every HISTORY_REQ it hears at once — a PRESENCE (so it is a "member"), then a
 * made-up TEXT record under `victim`'s id and nick, flagged HISTORY. Returns its transport.
 */
function mallory(r: Room, victim: () => { id: string; nick: string }) {
  const t = r.hub.attach("198.18.0.66");
  const send = (f: Frame) => t.send(encode(f));
  let counter = 0;
  let present = true;
  const presence = (phase: "hello" | "heartbeat" | "bye") => {
    present = phase !== "bye";
    return send(forgerPresence(MALLORY, counter++, phase));
  };
  // A heartbeat every 200 ms while present, as a member would (it must not time out).
  const beat = () => {
    if (!present) return;
    void presence("heartbeat");
    r.vc.at(r.vc.now() + 200, beat);
  };
  r.vc.at(r.vc.now() + 200, beat);
  t.onDatagram((d) => {
    if (d.self || !isFramed(d.data)) return;
    const f = decode(d.data);
    if (f.type !== "history_req") return;
    const v = victim();
    void presence("heartbeat");
    void send(historyTextRecord(v.id, 1000, v.nick, FORGED));
  });
  return { t, presence };
}

const history = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "message" && e.history ? [e] : []));

describe("forged history in a present member's name", () => {
  // alice has lines in the history (she answers for herself); carol, present, said nothing (no
  // first-hand answer of hers can outvote the forgery: it is shown relayed, and must not be
  // stored as hers).
  for (const victim of ["alice", "carol"] as const) {
    test(`(in ${victim}'s name) is shown via the forger or not at all, real lines stay their senders', and it is never served on`, async () => {
      const rm = room();
      const alice = roomMember(rm, "alice", {}, "198.18.0.1");
      const bob = roomMember(rm, "bob", {}, "198.18.0.2");
      const carol = roomMember(rm, "carol", { listen: true }, "198.18.0.3");
      const target = victim === "alice" ? alice : carol;
      const evil = mallory(rm, () => ({ id: target.s.id, nick: victim }));
      await alice.s.start();
      await bob.s.start();
      await carol.s.start();
      await evil.presence("hello");
      for (let i = 1; i <= 3; i++) {
        await alice.s.send(`a${i}`);
        await rm.vc.run(3);
        await bob.s.send(`b${i}`);
        await rm.vc.run(3);
      }
      await rm.vc.run(300);
      // dave asks for more than anyone holds: the honest members wait for every turn, so the
      // forger's answer reaches them first (the case where they used to stay quiet).
      const dave = roomMember(
        rm,
        "dave",
        {
          listen: true,
          history: 10,
          historyWaitMs: 700,
        },
        "198.18.0.4",
      );
      await dave.s.start();
      await rm.vc.run(1000);

      const shown = history(dave.events);
      const real = ["a1", "b1", "a2", "b2", "a3", "b3"];
      expect(shown.filter((e) => e.text !== FORGED).map((e) => e.text)).toEqual(real);
      for (const e of shown.filter((e) => e.text !== FORGED)) {
        expect(e.via).toBeUndefined(); // alice and bob answered for themselves
        expect(e.id).toBe(e.text[0] === "a" ? alice.s.id : bob.s.id);
      }
      if (victim === "alice") expect(shown.some((e) => e.text === FORGED)).toBe(false);
      for (const e of shown.filter((e) => e.text === FORGED)) {
        expect(e.via).toEqual({ nick: "mallory", id: MALLORY });
        expect(e.from).toMatch(/^198\.18\.0\.66:/);
      }
      console.log(
        `forged history: dave showed ${shown.map((e) => `${e.text}${e.via ? ` (via ${e.via.nick})` : ""}`).join(", ")}`,
      );

      // mallory leaves, then alice, bob and carol: dave alone holds the room's history.
      await evil.presence("bye");
      await alice.s.close();
      await bob.s.close();
      await carol.s.close();
      await rm.vc.run(500);
      const erin = roomMember(
        rm,
        "erin",
        {
          listen: true,
          history: 10,
          historyWaitMs: 700,
        },
        "198.18.0.5",
      );
      await erin.s.start();
      await rm.vc.run(1500);
      const served = history(erin.events);
      // dave served what it had from alice and bob themselves (relayed now: erin cannot check
      // it), and never mallory's line.
      expect(served.map((e) => e.text)).toEqual(real);
      for (const e of served) expect(e.via).toEqual({ nick: "dave", id: dave.s.id });
      expect(served.some((e) => e.text === FORGED)).toBe(false);
    });
  }
});
