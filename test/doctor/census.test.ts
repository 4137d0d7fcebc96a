import { expect, test } from "bun:test";
import { Census, checkRoom } from "../../src/doctor/census.ts";
import type { Datagram } from "../../src/net/transport.ts";
import { encode, type Frame } from "../../src/protocol/index.ts";

const ME = "00000000000000aa";
const ALICE = "0123456789abcdef";
const room = { group: "239.1.100.1", port: 25000, ttl: 1 };

const framed = (frame: Frame, address = "198.18.0.2", port = 40000): Datagram => ({
  data: encode(frame),
  address,
  port,
  channel: "framed",
});
const text = (t: string | Uint8Array, address = "198.18.0.3", port = 5555): Datagram => ({
  data: typeof t === "string" ? new TextEncoder().encode(t) : t,
  address,
  port,
  channel: "legacy",
});
const hello = (id: string, nick: string, type: "hello" | "heartbeat" | "bye" = "hello"): Frame => ({
  type,
  id,
  seq: 0xffffffff,
  nick,
  age: 10,
});

test("members by instance id, with nick, address and the frames heard", () => {
  const c = new Census(ME);
  expect(c.take(framed(hello(ALICE, "alice")))).toBe(false);
  c.take(framed(hello(ALICE, "alice", "heartbeat")));
  c.take(
    framed(
      { type: "report", id: "1111111111111111", seq: 4, entries: [{ target: ALICE, next: 0 }] },
      "198.18.0.4",
    ),
  );
  // A forged frame for alice from elsewhere does not move her.
  c.take(framed(hello(ALICE, "mallory", "bye"), "198.18.0.9"));
  const r = c.result();
  expect(r.members).toEqual([
    {
      id: ALICE,
      nick: "alice",
      from: "198.18.0.2:40000",
      heard: ["hello", "heartbeat"],
      left: false,
      frames: 2,
    },
    { id: "1111111111111111", from: "198.18.0.4:40000", heard: ["report"], left: false, frames: 1 },
  ]);
  c.take(framed(hello(ALICE, "alice", "bye")));
  expect(c.result().members[0]?.left).toBe(true);
  expect(checkRoom(room, c.result(), 3)).toMatchObject({
    status: "ok",
    summary: "heard 2 members in 3 s",
  });
});

test("our own probe is recognised by its id, not listed", () => {
  const c = new Census(ME);
  expect(
    c.take({
      ...framed({ type: "report", id: ME, seq: 0xffffffff, entries: [{ target: ME, next: 0 }] }),
      self: true,
    }),
  ).toBe(true);
  expect(c.result().members).toEqual([]);
});

test("legacy senders: address, count and a terminal-safe sample; bridging members marked", () => {
  const c = new Census(ME);
  c.take(text("hello from socat\n"));
  c.take(text("again"));
  c.take(text(Uint8Array.from([0xb4, 0xf3, 0xbc, 0xd2, 0xba, 0xc3]), "198.18.0.5")); // GBK
  c.take(text("\u001b]0;pwned\u0007evil", "198.18.0.6"));
  c.take(framed(hello(ALICE, "alice")));
  c.take(text("<alice> hi", "198.18.0.2", 40000));
  const r = c.result();
  expect(r.legacy.map((l) => [l.from, l.datagrams, l.sample, l.bridgedBy])).toEqual([
    ["198.18.0.3:5555", 2, "hello from socat", undefined],
    ["198.18.0.5:5555", 1, "大家好", undefined],
    ["198.18.0.6:5555", 1, "^[]0;pwned^Gevil", undefined],
    ["198.18.0.2:40000", 1, "<alice> hi", "alice"],
  ]);
  expect(checkRoom(room, r, 3).summary).toBe("heard 1 member, 3 legacy senders in 3 s");
});

test("sealed datagrams are encrypted traffic; junk is counted", () => {
  const c = new Census(ME);
  const sealed = new Uint8Array(80);
  sealed.set([0xff, 0x4d, 0x01, 0x40]);
  c.take({ data: sealed, address: "198.18.0.7", port: 1234, channel: "framed" });
  c.take({
    data: new TextEncoder().encode("text on P+1"),
    address: "198.18.0.8",
    port: 1,
    channel: "framed",
  });
  c.take({ ...framed(hello(ALICE, "alice")), channel: "legacy" });
  const r = c.result();
  expect(r.other).toBe(2);
  const check = checkRoom(room, r, 3);
  expect(check.summary).toBe("heard 1 encrypted sender in 3 s");
  expect(check.details[0]).toContain(
    "encrypted traffic (cannot read nicks without the passphrase)",
  );
});

test("nobody heard is a warning with what to try", () => {
  const c = checkRoom(room, new Census(ME).result(), 3);
  expect(c).toMatchObject({ status: "warn", summary: "heard no one in 3 s on 239.1.100.1:25000" });
  expect(c.fix).toContain("--ttl 2");
  expect(checkRoom(room, undefined, 3).status).toBe("skip");
  expect(checkRoom(room, new Census(ME).result(), 1.5, true).summary).toBe(
    `heard no one in 1.5 s (stopped early) on ${room.group}:${room.port}`,
  );
  const ssm = checkRoom({ ...room, source: "198.18.0.2" }, new Census(ME).result(), 3);
  expect(ssm.details).toEqual(["--source: only 198.18.0.2 can be heard"]);
  expect(ssm.fix).toStartWith("is 198.18.0.2 sending to 239.1.100.1:25000?");
});

test("a 1.1 member (PRESENCE frames) is listed by its nick, and leaves with a BYE phase", () => {
  const c = new Census(ME);
  const presence = (phase: "hello" | "heartbeat" | "bye"): Frame => ({
    type: "presence",
    id: ALICE,
    seq: 0,
    phase,
    nick: "alice",
    age: 10,
    streams: [],
    kinds: [1],
  });
  c.take(framed(presence("hello")));
  c.take(framed(presence("heartbeat")));
  expect(c.result().members).toEqual([
    {
      id: ALICE,
      nick: "alice",
      from: "198.18.0.2:40000",
      heard: ["presence"],
      left: false,
      frames: 2,
    },
  ]);
  c.take(framed(presence("bye")));
  expect(c.result().members[0]?.left).toBe(true);
});
