/**
 * Issue 16: under the default encoding ("auto") a member copies its text to the room's classic
 * programs in the encoding they are heard using (GBK), says so once, and a `--raw` member's
 * echo shows what the room received.
 */
import { afterEach, describe, expect, test } from "bun:test";
import iconv from "iconv-lite";
import type { SessionEvent } from "../../src/session/events.ts";
import { GBK_COPIES_NOTICE, GBK_RAW_NOTICE } from "../../src/session/room/copy-encoding.ts";
import type { SessionOptions } from "../../src/session/session.ts";
import { mulberry32 } from "../helpers/virtual-clock.ts";
import {
  closeRoomMembers,
  virtualRoom as room,
  roomMember,
  until,
  type VirtualRoom,
} from "../helpers/virtual-room.ts";

afterEach(closeRoomMembers);

/** ann, on the default encoding (auto), with the seed this file's expectations were made with. */
const member = (r: VirtualRoom, extra: Partial<SessionOptions>) =>
  roomMember(r, "ann", { encoding: "auto", random: mulberry32(1), ...extra });

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const gbkHex = (s: string) => iconv.encode(s, "gbk").toString("hex");
const infos = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === "info" ? [e.text] : []));

describe("a framed member on the default encoding", () => {
  test("shows GBK legacy text as written, then copies its lines in GBK and says so once", async () => {
    const r = room();
    const a = member(r, {});
    await a.s.start();
    const legacy = r.hub.attach("198.18.0.9", { raw: true });
    await legacy.send(iconv.encode("大家好，我是旧程序", "gbk"));
    await legacy.send(iconv.encode("再见", "gbk"));
    const shown = () => a.events.flatMap((e) => (e.type === "message" && e.legacy ? [e.text] : []));
    await until(r, () => shown().length === 2);
    expect(shown()).toEqual(["大家好，我是旧程序", "再见"]);
    expect(infos(a.events)).toEqual([GBK_COPIES_NOTICE]);

    await a.s.send("我是ann");
    await r.vc.run(250);
    const legacyOut = r.hub.sent
      .filter((d) => d.from === a.transport && d.channel === "legacy")
      .map((d) => hex(d.data));
    expect(legacyOut).toEqual([gbkHex("我是ann")]);
  });

  test("an explicit -e utf8 copies in UTF-8 and says nothing", async () => {
    const r = room();
    const a = member(r, { encoding: "utf8" });
    await a.s.start();
    const legacy = r.hub.attach("198.18.0.9", { raw: true });
    await legacy.send(iconv.encode("大家好", "gbk"));
    await until(r, () => a.events.some((e) => e.type === "message" && e.legacy === true));
    await a.s.send("我是ann");
    await r.vc.run(250);
    const legacyOut = r.hub.sent
      .filter((d) => d.from === a.transport && d.channel === "legacy")
      .map((d) => hex(d.data));
    expect(legacyOut).toEqual([Buffer.from("我是ann").toString("hex")]);
    expect(infos(a.events)).toEqual([]);
  });
});

describe("--raw", () => {
  test("the echo shows what was sent: an emoji GBK cannot carry is ? there too", async () => {
    const r = room();
    const a = member(r, { raw: true, encoding: "gbk" });
    await a.s.start();
    await a.s.send("好 😀");
    const echo = a.events.find((e) => e.type === "message" && e.self);
    expect(echo).toMatchObject({ text: "好 ?" });
    const sent = r.hub.sent.filter((d) => d.from === a.transport).map((d) => hex(d.data));
    expect(sent).toEqual([gbkHex("好 ?")]);
  });

  test("under the default, a raw member hearing GBK says so once and sends GBK", async () => {
    const r = room();
    const a = member(r, { raw: true });
    await a.s.start();
    const legacy = r.hub.attach("198.18.0.9", { raw: true });
    await legacy.send(iconv.encode("大家好", "gbk"));
    await legacy.send(iconv.encode("再见", "gbk"));
    await until(r, () => a.events.filter((e) => e.type === "message").length === 2);
    expect(infos(a.events)).toEqual([GBK_RAW_NOTICE]);
    await a.s.send("好的");
    const sent = r.hub.sent.filter((d) => d.from === a.transport).map((d) => hex(d.data));
    expect(sent).toEqual([gbkHex("好的")]);
  });
});
