/**
 * "The conference": one room (group + port) shared by a legacy classroom program
 * (test/helpers/legacy_peer.py) and framed mcchat members on other lab hosts, from
 * source and as the compiled binary.
 *
 *   h0 198.18.0.1  legacy peer (GBK): receives everything, sends raw GBK text
 *   h1 198.18.0.2  mcchat "alice" (framed, -e gbk, --json, lines from its stdin), and a
 *                  one-shot `mcchat --raw -e gbk` that writes to the legacy peer
 *   h2 198.18.0.3  mcchat "bob"   (framed, -e gbk, --json, lines from its stdin)
 *
 * Readiness: alice and bob hear each other's HELLO (join events) before anything is
 * sent, the legacy receiver prints READY, and legacy sends repeat (bounded) until
 * every receiver has them.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { events, waitEvent, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  implementations,
  type Lab,
  legacyPeerCommand,
  type Proc,
  retryUntil,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, gbkHex, legacyReceiver } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.1";
const LEGACY = legacyPeerCommand();

const isFramedHex = (hex: string) => hex.startsWith("ff4d");

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`a room with a legacy peer and two framed members${suffix}`, () => {
    let lab: Lab;
    afterAll(() => lab?.destroy());
    const base = label === "source" ? 25_500 : 25_520;

    when(
      "legacy GBK text reaches both members, --raw lines reach the legacy peer byte-exactly, members see join/message/leave",
      async () => {
        lab ??= await createLab(3);
        const [h0, h1, h2] = lab.hosts as [Host, Host, Host];
        const port = String(base + 1);
        const room = ["-y", "-g", GROUP, "-p", port, "-e", "gbk", "--json"];

        const legacy = await legacyReceiver(h0, GROUP, port, ["--count", "0", "--timeout", "30"]);
        const alice = h1.spawn([...mcchat, ...room, "-n", "alice"], { stdin: "pipe" });
        const bob = h2.spawn([...mcchat, ...room, "-n", "bob"], { stdin: "pipe" });

        // Presence: each sees the other join, with nick, instance id and address.
        const bobJoin = await waitEvent(
          alice,
          (e) => e.type === "join" && e.nick === "bob",
          "alice sees bob join",
        );
        const aliceJoin = await waitEvent(
          bob,
          (e) => e.type === "join" && e.nick === "alice",
          "bob sees alice join",
        );
        expect(bobJoin).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{16}$/) });
        expect(bobJoin.from).toMatch(fromHost(h2));
        expect(aliceJoin).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{16}$/) });
        expect(aliceJoin.from).toMatch(fromHost(h1));
        expect(aliceJoin.id).not.toBe(bobJoin.id);

        // 1. The legacy peer speaks (GBK): both members show the exact text, marked legacy.
        const oldText = "大家好，我是老版本的程序";
        const legacyMsgs = (p: Proc) => events(p).filter((e) => e.type === "message" && e.legacy);
        await retryUntil(
          () => h0.exec([...LEGACY, "send", GROUP, port, "--encoding", "gbk", oldText]),
          () => [alice, bob].every((p) => legacyMsgs(p).length > 0),
          { attempts: 20, intervalMs: 300, what: "the legacy text reaching both members" },
        );
        for (const p of [alice, bob]) {
          for (const m of legacyMsgs(p)) {
            expect(m).toMatchObject({ type: "message", text: oldText, legacy: true });
            expect(m.from).toMatch(fromHost(h0));
            expect(m.nick).toBeUndefined();
            expect(m.id).toBeUndefined();
          }
        }

        // 2. `mcchat --raw -e gbk` speaks to the legacy peer: exact GBK bytes, nothing else.
        const rawText = "你好，旧程序：这是一行原始文本";
        const rawFromH1 = () =>
          legacy.json<Datagram>().filter((d) => !isFramedHex(d.hex) && fromHost(h1).test(d.from));
        await retryUntil(
          async () => {
            const tx = h1.spawn([...mcchat, "--raw", "-y", "-g", GROUP, "-p", port, "-e", "gbk"], {
              stdin: `${rawText}\n`,
            });
            expect(await tx.waitForExit(10_000)).toBe(0);
            expect(tx.stderr).toBe("");
          },
          () => rawFromH1().length > 0,
          { attempts: 10, intervalMs: 500, what: "the raw line reaching the legacy peer" },
        );
        for (const d of rawFromH1()) {
          expect(d.hex).toBe(gbkHex(rawText)); // no framing, no NUL, no newline
          expect(d.text).toBe(rawText);
          expect(d.truncated).toBe(false);
        }
        // The framed members hear the raw line as legacy text too.
        await waitEvent(
          bob,
          (e) => e.type === "message" && e.text === rawText,
          "bob sees the raw line",
        );
        expect(events(bob).find((e) => e.text === rawText)).toMatchObject({
          legacy: true,
          from: expect.stringMatching(fromHost(h1)),
        });

        // 3. Framed messages between the members: nick, id, address; UTF-8 whatever -e says
        // (👋 has no GBK form).
        const fromAlice = "hi bob 👋 — 你好";
        const fromBob = "hello alice";
        alice.write(`${fromAlice}\n`);
        bob.write(`${fromBob}\n`);
        const atBob = await waitEvent(
          bob,
          (e) => e.type === "message" && e.text === fromAlice,
          "bob gets alice's message",
        );
        const atAlice = await waitEvent(
          alice,
          (e) => e.type === "message" && e.text === fromBob,
          "alice gets bob's message",
        );
        expect(atBob).toMatchObject({ nick: "alice", id: aliceJoin.id, from: aliceJoin.from });
        expect(atBob.legacy).toBeUndefined();
        expect(atAlice).toMatchObject({ nick: "bob", id: bobJoin.id, from: bobJoin.from });
        expect(atAlice.legacy).toBeUndefined();

        // The room has a legacy program now (the raw line): both members bridge their
        // messages to it as GBK text, once each; 👋 has no GBK form and goes out as "?".
        const bridged = (text: string) =>
          legacy.json<Datagram>().filter((d) => d.hex === gbkHex(text));
        await waitFor(
          () => bridged(fromAlice.replace("👋", "?")).length > 0 && bridged(fromBob).length > 0,
          5000,
          "both members' messages reach the legacy peer as text",
          [legacy, alice, bob],
        );
        expect(legacy.json<Datagram>().filter((d) => isFramedHex(d.hex))).toEqual([]);

        // 4. alice's stdin ends: she says BYE and exits 0; bob sees her leave.
        alice.end();
        expect(await alice.waitForExit(20_000)).toBe(0);
        expect(alice.stderr).toBe('mcchat: warning: gbk cannot encode "👋"; sent as "?"\n');
        expect(bridged(fromAlice.replace("👋", "?"))).toHaveLength(1);
        expect(bridged(fromBob)).toHaveLength(1);
        const leave = await waitEvent(
          bob,
          (e) => e.type === "leave" && e.nick === "alice",
          "bob sees alice leave",
          5000,
        );
        expect(leave).toMatchObject({ id: aliceJoin.id, from: aliceJoin.from, reason: "bye" });

        bob.end();
        expect(await bob.waitForExit(20_000)).toBe(0);

        // Every event a member printed is one of the documented kinds, each message once.
        for (const p of [alice, bob]) {
          const kinds = new Set(events(p).map((e) => e.type));
          for (const k of kinds) expect(["join", "message", "leave"]).toContain(k);
        }
        expect(events(bob).filter((e) => e.text === fromAlice)).toHaveLength(1);
        expect(events(alice).filter((e) => e.text === fromBob)).toHaveLength(1);
        // The legacy peer gets no frame at all (they go to the companion port), and no text but
        // the legacy lines and the members' bridged messages.
        const texts = [oldText, rawText, fromAlice.replace("👋", "?"), fromBob].map(gbkHex);
        for (const d of legacy.json<Datagram>()) expect(texts).toContain(d.hex);
      },
      60_000,
    );
  });
});
