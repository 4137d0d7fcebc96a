/**
 * The chat room and nicks (issue 16): taking a nick a present member holds says how others
 * see us (at /nick, and once when the earlier holder is heard after we joined with it); a
 * line naming us is highlighted and rings the bell (BEL), unless the bell is off.
 */
import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import pc from "picocolors";
import { Room } from "../../src/room/room.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { runChat } from "../../src/ui/chat.ts";
import { waitFor } from "../helpers/events.ts";
import { FakeRoomSession } from "../helpers/fake-room-session.ts";
import { VirtualTerminal } from "./vt.ts";

const T0 = new Date(2024, 0, 2, 12, 0, 0).getTime();
const ANNA = "2272aaaaaaaaaaaa";
const plain = pc.createColors(false);
const colors = pc.createColors(true);

type Stream = PassThrough & { isTTY?: boolean; columns?: number };

/** alice (id a1a1…, nick taken at 5000) in a chat on a fake session. */
function chat(opts: { bell?: boolean; colors?: typeof plain } = {}) {
  let session!: FakeRoomSession;
  const room = Room.create((events) => {
    session = new FakeRoomSession(events);
    session.now = () => T0;
    session.nickSince = 5000;
    return session;
  });
  const input: Stream = new PassThrough();
  const output: Stream = new PassThrough();
  input.isTTY = true;
  output.isTTY = true;
  output.columns = 100;
  const vt = new VirtualTerminal(100);
  let raw = "";
  output.on("data", (d: Buffer) => {
    raw += d.toString();
    vt.write(d.toString());
  });
  const exit = runChat({
    room,
    input,
    output,
    colors: opts.colors ?? plain,
    now: () => T0,
    ...(opts.bell === undefined ? {} : { bell: opts.bell }),
  });
  return {
    session,
    vt,
    exit,
    get raw() {
      return raw;
    },
    async type(s: string) {
      input.write(s);
      await Bun.sleep(15);
    },
    end() {
      input.end();
    },
  };
}

const annaHere = (nickSince: number) => ({
  id: ANNA,
  nick: "anna",
  from: "198.18.0.2:25000",
  lastSeen: T0,
  self: false,
  nickSince,
});

const says = (text: string): SessionEvent => ({
  type: "message",
  time: new Date(T0),
  from: "198.18.0.2:25000",
  text,
  nick: "anna",
  id: ANNA,
});

describe("taking a nick a present member holds", () => {
  test("/nick anna while anna is here: told how others see us; she stays anna", async () => {
    const r = chat();
    r.session.others.push(annaHere(1000));
    r.session.setNick = async (nick: string) => {
      r.session.nicks.push(nick);
      r.session.nick = nick;
      r.session.nickSince = 9000;
    };
    await r.type("/nick anna\r");
    await waitFor(() => r.vt.lines().some((l) => l.includes("taken")), 2000, "told");
    expect(r.vt.lines()).toContain("-- anna is taken; others see you as anna#a1a1");
    r.session.emit(says("hello"));
    await waitFor(() => r.vt.lines().some((l) => l.includes("hello")), 2000, "shown");
    expect(r.vt.lines()).toContain("12:00:00 <anna> hello");
    await r.type("me too\r");
    await waitFor(() => r.vt.lines().some((l) => l.includes("me too")), 2000, "echo");
    expect(r.vt.lines()).toContain("12:00:00 <anna#a1a1> me too");
    r.end();
    await r.exit;
  });

  test("joined as anna, the earlier anna heard: said once, not at every join", async () => {
    const r = chat();
    r.session.nick = "anna";
    r.session.others.push(annaHere(1000));
    const join: SessionEvent = {
      type: "join",
      time: new Date(T0),
      from: "198.18.0.2:25000",
      nick: "anna",
      id: ANNA,
    };
    r.session.emit(join);
    r.session.emit({ ...join, nick: "bob", id: "b0b0b0b0b0b0b0b0", from: "198.18.0.3:1" });
    await waitFor(() => r.vt.lines().some((l) => l.includes("bob")), 2000, "shown");
    const told = r.vt.lines().filter((l) => l.includes("is taken"));
    expect(told).toEqual(["-- anna is taken; others see you as anna#a1a1"]);
    expect(r.vt.lines()).toContain("12:00:00 -- anna joined (198.18.0.2)");
    r.end();
    await r.exit;
  });

  test("the first holder is told nothing; the later one is marked", async () => {
    const r = chat();
    r.session.nick = "anna";
    r.session.others.push(annaHere(8000));
    r.session.emit({
      type: "join",
      time: new Date(T0),
      from: "198.18.0.2:25000",
      nick: "anna",
      id: ANNA,
    });
    await waitFor(() => r.vt.lines().some((l) => l.includes("joined")), 2000, "shown");
    expect(r.vt.lines()).toContain("12:00:00 -- anna#2272 joined (198.18.0.2)");
    expect(r.vt.lines().filter((l) => l.includes("taken"))).toEqual([]);
    r.end();
    await r.exit;
  });
});

describe("a line naming us", () => {
  test("is highlighted (inverse) and rings the bell; others do not", async () => {
    const r = chat({ colors });
    r.session.others.push(annaHere(1000));
    r.session.emit(says("nothing for you"));
    await waitFor(() => r.raw.includes("nothing for you"), 2000, "shown");
    expect(r.raw).not.toContain("\x07");
    r.session.emit(says("Alice: lunch?"));
    await waitFor(() => r.raw.includes("lunch?"), 2000, "shown");
    expect(r.raw).toContain("\x07");
    const line = r.raw.split(/\r?\n/).find((l) => l.includes("lunch?")) ?? "";
    expect(line).toContain("\x1b[7m");
    r.end();
    await r.exit;
  });

  test("no bell with bell: false (--no-bell), still highlighted", async () => {
    const r = chat({ colors, bell: false });
    r.session.others.push(annaHere(1000));
    r.session.emit(says("alice, lunch?"));
    await waitFor(() => r.raw.includes("lunch?"), 2000, "shown");
    expect(r.raw).not.toContain("\x07");
    expect(r.raw).toContain("\x1b[7m");
    r.end();
    await r.exit;
  });
});
