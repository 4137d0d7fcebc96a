/**
 * Issue 8, encrypted rooms between lab hosts with real processes, from source and as the
 * compiled binary (README "Private rooms", PROTOCOL.md §10). Frames travel sealed on the
 * companion port P+1; an encrypted room sends nothing to the room port P.
 *
 *   h0 198.18.0.1  the pipe sender (MCCHAT_PASSPHRASE)
 *   h1 198.18.0.2  the listener: --listen --json --stats (MCCHAT_PASSPHRASE)
 *   h2 198.18.0.3  (1) an open member (no passphrase); (3), (5) a late joiner with --history
 *   h3 198.18.0.4  (1) a member with a wrong passphrase (--passphrase-file); (2) the replayer
 *   h4 198.18.0.5  captures: legacy_peer.py recv on P and on P+1 (hex of every datagram)
 *
 * 1. Members with the passphrase talk; a member without it and one with a wrong one show
 *    nothing of them and are told once; the capture holds no text and no nick in the clear
 *    (checked positively too: decrypted with the room key, the same capture holds them).
 * 2. Captured sealed datagrams re-sent from h3 (same run, and after the sender restarted) and
 *    single-bit-flipped copies are never shown; the listener's --stats counts them refused.
 * 3. 20% loss on the listener's host: 300 lines in order exactly once (NACKs sent), presence,
 *    and a late joiner's --history 5.
 * 4. The passphrase is in no process's argv (ps, /proc/PID/cmdline) and on no output.
 * 5. History survives its sender: after the sender left, the listener answers a late joiner
 *    with the sender's messages (its instance id inside the listener's sealed datagrams).
 *
 * Readiness: captures print READY before any member starts; members have seen each other
 * join before a line is written. Completeness: the capture is awaited until it holds
 * (decrypted) the sender's last frame, and replays until the capture holds them, before a
 * marker message is sent and awaited at the listener.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, decodeTextRecord, type Frame, RecordKind } from "../../src/protocol/index.ts";
import { deriveRoomKey, deriveSendKey, isSealed, openFrame } from "../../src/protocol/sealed.ts";
import {
  events,
  joinedId,
  messages,
  sealedStatsOf,
  statsOf,
  waitEvent,
  waitFor,
} from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  legacyPeerCommand,
  type Proc,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, legacyReceiver, waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.180.1";
const LEGACY = legacyPeerCommand();
const PASS = "correct horse 电池 staple 7f3a";
const WRONG = "correct horse 电池 staple 7f3b";
/** Nicks of the encrypted members: long enough that random ciphertext never contains them. */
const SND = "sender-secret-nick";
const LIS = "listener-secret-nick";
const withPass = { MCCHAT_PASSPHRASE: PASS };
const noPass = { MCCHAT_PASSPHRASE: undefined };

/** The sealed-frame prefix: magic FF 4D, version 1, type 0x40 SEALED. */
const SEALED_PREFIX = "ff4d0140";
const bytesOf = (hex: string) => Buffer.from(hex, "hex");
const utf8 = (s: string) => Buffer.from(s, "utf8");

/** stderr lines of `p` that contain `text`. */
const stderrWith = (p: Proc, text: string) => p.lines("stderr").filter((l) => l.includes(text));

/** Neither passphrase appears in anything `procs` printed. */
function expectNoPassphrase(procs: Proc[]) {
  for (const p of procs) {
    for (const secret of [PASS, WRONG]) {
      expect(p.stdout.includes(secret)).toBe(false);
      expect(p.stderr.includes(secret)).toBe(false);
    }
  }
}

/**
 * Opens captured datagrams with the room key (as a member would): the inner frame of each
 * sealed datagram that verifies, cached by hex.
 */
async function opener(port: number) {
  const roomKey = await deriveRoomKey(PASS, GROUP, port);
  const keys = new Map<string, Uint8Array>();
  const cache = new Map<string, Frame | null>();
  return (hex: string): Frame | null => {
    let f = cache.get(hex);
    if (f !== undefined) return f;
    f = null;
    const data = bytesOf(hex);
    if (isSealed(data)) {
      try {
        const { inner } = openFrame((salt) => {
          const k = Buffer.from(salt).toString("hex");
          let key = keys.get(k);
          if (!key) {
            key = deriveSendKey(roomKey, salt);
            keys.set(k, key);
          }
          return key;
        }, data);
        f = decode(inner);
      } catch {
        f = null;
      }
    }
    cache.set(hex, f);
    return f;
  };
}

/** The text of a one-fragment TEXT record (wire 1.1) in an opened frame. */
const textOf = (f: Frame | null) =>
  f?.type === "record" && f.kind === RecordKind.text && f.fragCount === 1
    ? decodeTextRecord(f.payload).text
    : undefined;
/** A BYE: 1.1's PRESENCE in its BYE phase. */
const isBye = (f: Frame | null) => f?.type === "presence" && f.phase === "bye";

/** Flips bit `bit` of byte `at` of a datagram given as hex. */
function flip(hex: string, at: number, bit = 0): string {
  const b = bytesOf(hex);
  b[at] = (b[at] as number) ^ (1 << bit);
  return b.toString("hex");
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`an encrypted room on five lab hosts${suffix}`, () => {
    const lab = sharedLab(5);
    const base = label === "source" ? 26_600 : 26_640;
    const room = (port: number) => ["-y", "-g", GROUP, "-p", String(port), "--json", "--stats"];
    /** Captures every datagram on `port` at h4 (hex), until stopped. */
    const capture = (h4: Host, port: number) =>
      legacyReceiver(h4, GROUP, port, ["--count", "0", "--timeout", "60"]);
    const datagrams = (cap: Proc) => cap.json<Datagram>();
    const fromH = (cap: Proc, host: Host) =>
      datagrams(cap).filter((d) => fromHost(host).test(d.from));
    /** The listener LIS: --listen, the passphrase from the environment. */
    const listener = (h: Host, port: number) =>
      h.spawn([...mcchat, ...room(port), "--listen", "-n", LIS], { env: withPass });
    /** The sender SND: lines from its stdin, the passphrase from the environment. */
    const sender = (h: Host, port: number) =>
      h.spawn([...mcchat, ...room(port), "-n", SND], { env: withPass, stdin: "pipe" });
    /** A late listener with the passphrase asking for `--history N` (and `extra` options). */
    const lateJoiner = (h: Host, port: number, history: number, extra: string[] = []) =>
      h.spawn(
        [
          ...mcchat,
          ...room(port),
          "--listen",
          "-n",
          "late",
          "--history",
          String(history),
          ...extra,
        ],
        { env: withPass },
      );
    /** The listener on h1 and the sender on h0, once they have seen each other join. */
    async function pair(h0: Host, h1: Host, port: number, what: string) {
      const lis = listener(h1, port);
      const snd = sender(h0, port);
      const all = [lis, snd];
      await waitForJoins(
        [
          [lis, [SND]],
          [snd, [LIS]],
        ],
        10_000,
        what,
        all,
      );
      return { lis, snd, all, sndId: joinedId(lis, SND) };
    }

    when(
      "(1) members with the passphrase talk; no passphrase or a wrong one shows nothing and is told once; the capture holds no text or nick in the clear",
      async () => {
        const [h0, h1, h2, h3, h4] = await lab();
        const port = base;
        const dir = mkdtempSync(join(tmpdir(), "mcchat-enc-"));
        try {
          const wrongFile = join(dir, "wrong-passphrase");
          writeFileSync(wrongFile, `${WRONG}\n`);
          chmodSync(wrongFile, 0o600);
          const open = await opener(port);
          const capRoom = await capture(h4, port);
          const capComp = await capture(h4, port + 1);

          const hb = ["--heartbeat", "200"];
          const listen = [...room(port), ...hb, "--listen"];
          const lis = h1.spawn([...mcchat, ...listen, "-n", LIS], { env: withPass });
          const opn = h2.spawn([...mcchat, ...listen, "-n", "open-member"], { env: noPass });
          const wrg = h3.spawn(
            [...mcchat, ...listen, "-n", "wrong-member", "--passphrase-file", wrongFile],
            { env: noPass },
          );
          const snd = h0.spawn([...mcchat, ...room(port), ...hb, "-n", SND], {
            env: withPass,
            stdin: "pipe",
          });
          const all = [lis, opn, wrg, snd, capRoom, capComp];
          await waitForJoins(
            [
              [snd, [LIS]],
              [lis, [SND]],
            ],
            10_000,
            "the two members with the passphrase see each other",
            all,
          );
          const sndId = joinedId(lis, SND);

          const lines = ["top secret plan: 机密 one", "second secret 第二条", "third and last"];
          for (const l of lines) snd.write(`${l}\n`);
          await waitFor(
            () => lines.every((l) => messages(lis).some((m) => m.text === l)),
            8000,
            "the listener shows every line",
            all,
          );
          snd.end();
          expect(await snd.waitForExit(10_000)).toBe(0);
          await waitEvent(lis, (e) => e.type === "leave" && e.id === sndId, "lis sees snd leave");

          // The capture is complete: decrypted with the room key it holds every line and the
          // sender's BYE, sealed (positive control for the absence checks below).
          const openedFromSnd = () => fromH(capComp, h0).map((d) => open(d.hex));
          await waitFor(
            () =>
              lines.every((l) => openedFromSnd().some((f) => textOf(f) === l)) &&
              openedFromSnd().some((f) => isBye(f) && f?.type === "presence" && f.nick === SND),
            8000,
            "the capture on P+1 holds the sender's lines and BYE (sealed)",
            all,
          );
          // The outsiders have been told: the wrong key that nothing opens with its passphrase,
          // the members (which verify each other) that someone here uses another one.
          const warnWrong =
            /^mcchat: warning: nothing in this room opens with your passphrase: \d+ sealed datagrams? from \d+ senders? could not be opened — is the passphrase right\? \(or another encrypted room uses this group\/port\)$/;
          const warnOther =
            /^mcchat: warning: someone here uses another passphrase: sealed datagrams from 198\.18\.0\.4:\d+ do not open with ours/;
          await wrg.waitForLine(warnWrong, 8000, "stderr");
          await lis.waitForLine(warnOther, 8000, "stderr");
          await opn.waitForLine(
            /an encrypted room \(passphrase\) is using this group\/port/,
            8000,
            "stderr",
          );
          await Promise.all([lis, opn, wrg].map((p) => p.stop(3000)));

          // The listener: every line once, with the sender's nick and id; no join of outsiders.
          const shown = messages(lis);
          expect(shown.map((m) => m.text)).toEqual(lines);
          for (const m of shown) expect(m).toMatchObject({ nick: SND, id: sndId });
          const lisJoins = events(lis).filter((e) => e.type === "join");
          expect(lisJoins.map((e) => e.nick)).toEqual([SND]);

          // The outsiders show nothing: no message, no join, no leave of anyone.
          for (const p of [opn, wrg]) {
            const shownHere = events(p).filter((e) => e.type !== "warning");
            expect(shownHere).toEqual([]);
            for (const l of [...lines, SND, LIS]) expect(p.stdout.includes(l)).toBe(false);
          }
          // Each told once, each its own warning.
          expect(stderrWith(wrg, "opens with your passphrase").length).toBe(1);
          expect(p0(stderrWith(wrg, "opens with your passphrase"))).toMatch(warnWrong);
          expect(stderrWith(wrg, "someone here uses another passphrase").length).toBe(0);
          expect(stderrWith(wrg, "an encrypted room (passphrase)").length).toBe(0);
          expect(stderrWith(lis, "someone here uses another passphrase").length).toBe(1);
          expect(stderrWith(lis, "opens with your passphrase").length).toBe(0);
          expect(
            stderrWith(opn, "an encrypted room (passphrase) is using this group/port"),
          ).toEqual([expect.any(String)]);
          expect(stderrWith(opn, "passphrase:").length).toBe(0);
          // They did receive the room's traffic: counted, not shown.
          const wrgStats = sealedStatsOf(wrg);
          const lisStats = sealedStatsOf(lis);
          const sealedFromMembers = [...fromH(capComp, h0), ...fromH(capComp, h1)];
          expect(wrgStats.undecryptable).toBeGreaterThanOrEqual(lines.length);
          expect(wrgStats.plaintextDropped).toBeGreaterThan(0); // the open member's frames
          expect(lisStats.plaintextDropped).toBeGreaterThan(0);
          expect(lisStats.undecryptable).toBeGreaterThan(0); // the wrong member's frames
          expect(statsOf(opn).malformed).toBeGreaterThanOrEqual(sealedFromMembers.length / 2);

          // The wire: nothing at all on the room port (no bridge), every frame of the two
          // members sealed, and no text, nick or passphrase in the clear anywhere on P+1.
          expect(datagrams(capRoom)).toEqual([]);
          expect(sealedFromMembers.length).toBeGreaterThan(lines.length);
          for (const d of sealedFromMembers) {
            expect(d.hex.startsWith(SEALED_PREFIX)).toBe(true);
            expect(d.truncated).toBe(false);
          }
          const wire = datagrams(capComp).map((d) => bytesOf(d.hex));
          for (const secret of [...lines, SND, LIS, PASS, WRONG]) {
            const hits = wire.filter((b) => b.includes(utf8(secret)));
            expect({ secret, hits: hits.length }).toEqual({ secret, hits: 0 });
          }
          // Control: the open member's own frames do carry its nick in the clear.
          expect(wire.some((b) => b.includes(utf8("open-member")))).toBe(true);
          expectNoPassphrase(all);
          console.log(
            `encrypted (${label}): capture P+1 ${wire.length} datagrams (${sealedFromMembers.length} sealed from the members), P ${datagrams(capRoom).length}; ` +
              `wrong key: undecryptable ${wrgStats.undecryptable}, plaintext dropped ${wrgStats.plaintextDropped}; ` +
              `listener: undecryptable ${lisStats.undecryptable}, plaintext dropped ${lisStats.plaintextDropped}`,
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      40_000,
    );

    when(
      "(2) captured datagrams replayed (same run, after a restart) and bit-flipped copies are never shown; --stats counts them refused",
      async () => {
        const [h0, h1, , h3, h4] = await lab();
        const port = base + 2;
        const open = await opener(port);
        const capComp = await capture(h4, port + 1);
        const lis = listener(h1, port);
        const start = () => sender(h0, port);
        // The listener's socket is open (its HELLO is on the wire) before the sender starts,
        // so it hears every datagram of the sender: a replay of one it never heard would be
        // its first copy, not a replay.
        await waitFor(() => fromH(capComp, h1).length > 0, 10_000, "lis's first frame", [lis]);
        const snd1 = start();
        const all = [lis, snd1, capComp];
        await waitForJoins([[lis, [SND]]], 10_000, "lis sees the first sender", all);
        const id1 = joinedId(lis, SND);

        /** Writes `text` to `snd` and waits until lis shows it. */
        const say = async (snd: Proc, text: string) => {
          snd.write(`${text}\n`);
          await waitEvent(
            lis,
            (e) => e.type === "message" && e.text === text,
            `lis shows "${text}"`,
          );
        };
        /** Sends datagrams (hex) from h3 to P+1 and waits until the capture holds them all. */
        let replayed = 0;
        const replay = async (hexes: string[]) => {
          const args = hexes.flatMap((h) => ["--hex", h]);
          await h3.exec([...LEGACY, "send", GROUP, String(port + 1), ...args]);
          replayed += hexes.length;
          await waitFor(
            () => fromH(capComp, h3).length >= replayed,
            5000,
            "the capture holds the replayed datagrams",
            all,
          );
        };

        const first = "replay me: the first run's secret";
        await say(snd1, first);
        await waitFor(
          () => fromH(capComp, h0).some((d) => textOf(open(d.hex)) === first),
          5000,
          "the capture holds the sealed message",
          all,
        );
        const msgHex = fromH(capComp, h0).find((d) => textOf(open(d.hex)) === first)?.hex as string;
        expect(msgHex.startsWith(SEALED_PREFIX)).toBe(true);

        // (a) Same run: the message again (3 times), everything of snd1 so far, and flipped
        // copies. Flips: key salt (byte 4) and the counter's top bit (byte 20: a counter
        // never seen) fail the tag; a bit of the ciphertext (28) and of the tag (last) keep
        // an already accepted counter and are refused as replays before decryption.
        const sealedOf = (host: Host) =>
          fromH(capComp, host)
            .map((d) => d.hex)
            .filter((h) => h.startsWith(SEALED_PREFIX));
        const sameRun = [msgHex, msgHex, msgHex, ...sealedOf(h0)];
        const last = bytesOf(msgHex).length - 1;
        const failTag = [flip(msgHex, 4), flip(msgHex, 20, 7)];
        const knownCounter = [flip(msgHex, 28), flip(msgHex, last, 3)];
        await replay([...sameRun, ...failTag, ...knownCounter]);
        await say(snd1, "marker after the same-run replay");
        // The counter flip did not move the window: snd1's next counter is still accepted.

        // (b) snd1 leaves (BYE), a new run of the sender (same passphrase, nick, host) speaks;
        // then everything snd1 ever sent, its HELLO and BYE included, is replayed.
        snd1.end();
        expect(await snd1.waitForExit(10_000)).toBe(0);
        await waitEvent(lis, (e) => e.type === "leave" && e.id === id1, "lis sees snd1 leave");
        await waitFor(
          () => fromH(capComp, h0).some((d) => isBye(open(d.hex))),
          5000,
          "the capture holds snd1's BYE",
          all,
        );
        const oldRun = sealedOf(h0);
        const snd2 = start();
        all.push(snd2);
        await waitFor(
          () => events(lis).some((e) => e.type === "join" && e.nick === SND && e.id !== id1),
          10_000,
          "lis sees the restarted sender join",
          all,
        );
        const id2 = events(lis).find((e) => e.type === "join" && e.id !== id1)?.id;
        await say(snd2, "the second run speaks");
        await replay([msgHex, ...oldRun]);
        await say(snd2, "marker after the replay across the restart");
        snd2.end();
        expect(await snd2.waitForExit(10_000)).toBe(0);
        await lis.stop(3000);

        const texts = messages(lis).map((m) => m.text);
        expect(texts).toEqual([
          first,
          "marker after the same-run replay",
          "the second run speaks",
          "marker after the replay across the restart",
        ]);
        const ofId1 = events(lis).filter((e) => e.id === id1);
        expect(ofId1.map((e) => e.type)).toEqual(["join", "message", "message", "leave"]);
        expect(ofId1.at(-1)).toMatchObject({ reason: "bye" });
        expect(
          events(lis)
            .filter((e) => e.type === "join")
            .map((e) => e.id),
        ).toEqual([id1, id2]);
        // Every replay arrived and was refused by the sealed layer (the session never saw a
        // duplicate); the two tag failures count as undecryptable.
        const s = sealedStatsOf(lis);
        const replays = sameRun.length + knownCounter.length + 1 + oldRun.length;
        expect(s).toEqual({
          undecryptable: failTag.length,
          replayed: replays,
          plaintextDropped: 0,
        });
        expect(statsOf(lis).duplicates).toBe(0);
        expectNoPassphrase(all);
        console.log(
          `replay (${label}): sent ${replayed} (${replays} replays, ${failTag.length} tag failures); listener: replayed ${s.replayed}, undecryptable ${s.undecryptable}`,
        );
      },
      40_000,
    );

    when(
      "(3) at 20% loss on the listener's host: 300 lines in order exactly once, NACKs, presence, a late joiner's --history 5",
      async () => {
        const [h0, h1, h2] = await lab();
        const port = base + 4;
        try {
          await h1.setLoss(20);
          const { lis, snd, all, sndId } = await pair(
            h0,
            h1,
            port,
            "the members see each other at 20% loss",
          );
          const lines = Array.from(
            { length: 300 },
            (_, i) => `sealed ${String(i + 1).padStart(3, "0")}`,
          );
          snd.write(`${lines.join("\n")}\n`);
          await waitFor(() => messages(lis).length >= 300, 20_000, "lis shows 300 lines", all);

          // A late joiner (no loss on its host) asks for the last 5.
          const late = lateJoiner(h2, port, 5);
          all.push(late);
          await waitFor(() => messages(late).length >= 5, 10_000, "the late joiner's history", all);
          await waitEvent(late, (e) => e.type === "join" && e.id === sndId, "late sees snd");

          snd.end();
          expect(await snd.waitForExit(25_000)).toBe(0);
          const lisLeave = await waitEvent(
            lis,
            (e) => e.type === "leave" && e.id === sndId,
            "lis sees snd leave",
            15_000,
          );
          const lateLeave = await waitEvent(
            late,
            (e) => e.type === "leave" && e.id === sndId,
            "late sees snd leave",
          );
          await Promise.all([lis.stop(3000), late.stop(3000)]);

          const shown = messages(lis);
          expect(shown.map((m) => m.text)).toEqual(lines);
          for (const m of shown) expect(m).toMatchObject({ nick: SND, id: sndId });
          expect(events(lis).filter((e) => e.type === "lost")).toEqual([]);
          const st = statsOf(lis);
          expect(st.nacksSent).toBeGreaterThan(0);
          expect(st.repaired).toBeGreaterThan(0);
          expect(st.lost).toBe(0);
          // (Not undecryptable: 0 — when the listener answers the history request, its own
          // answers come back to it and are counted there; see test 5.)
          expect(sealedStatsOf(lis)).toMatchObject({ replayed: 0, plaintextDropped: 0 });

          const hist = messages(late);
          expect(hist.map((m) => m.text)).toEqual(lines.slice(-5));
          for (const m of hist) expect(m).toMatchObject({ history: true, nick: SND, id: sndId });
          expect(lateLeave.reason).toBe("bye");
          // BYE is one datagram: at 20% loss the lossy listener may see the leave by timeout.
          console.log(
            `loss (${label}): listener NACKs sent ${st.nacksSent}, repaired ${st.repaired}, duplicates ${st.duplicates}; leave at the listener: ${lisLeave.reason}; history ${hist.length}`,
          );
          expectNoPassphrase(all);
        } finally {
          await stopAll();
          await h1.clearLoss();
        }
      },
      60_000,
    );

    when(
      "(4) the passphrase is in no process's argv (ps, /proc/PID/cmdline) and on no output; --passphrase is refused without echoing it",
      async () => {
        const [h0, h1] = await lab();
        const port = base + 6;
        const dir = mkdtempSync(join(tmpdir(), "mcchat-enc-"));
        try {
          const file = join(dir, "passphrase");
          writeFileSync(file, `${PASS}\n`);
          chmodSync(file, 0o600);
          const a = sender(h0, port);
          const b = h1.spawn(
            [...mcchat, ...room(port), "--listen", "-n", LIS, "--passphrase-file", file],
            {
              env: noPass,
            },
          );
          const all = [a, b];
          await waitForJoins([[b, [SND]]], 10_000, "b sees a", all);
          a.write("hello from the env-passphrase member\n");
          await waitEvent(b, (e) => e.type === "message" && e.nick === SND, "b shows a's line");

          const ps = await h0.exec(["ps", "-eww", "-o", "pid=,args="]);
          const cmdline = (pid: number) =>
            h0.exec(["cat", `/proc/${pid}/cmdline`]).then((r) => r.stdout.replaceAll("\0", " "));
          const cmdA = await cmdline(a.pid);
          const cmdB = await cmdline(b.pid);
          // Controls: these are the members' processes, and ps lists them.
          expect(cmdA).toContain(SND);
          expect(cmdB).toContain("--passphrase-file");
          expect(ps.stdout).toContain(`--passphrase-file ${file}`);
          for (const text of [ps.stdout, cmdA, cmdB]) expect(text.includes(PASS)).toBe(false);

          a.end();
          expect(await a.waitForExit(10_000)).toBe(0);
          await b.stop(3000);
          expect(b.lines("stderr").some((l) => l.startsWith("mcchat: stats:"))).toBe(true);

          // On the command line: refused (exit 2) before anything, the value not echoed.
          const refused = h0.spawn(
            [...mcchat, "-y", "-g", GROUP, "-p", String(port), "--passphrase", PASS],
            {
              env: noPass,
            },
          );
          expect(await refused.waitForExit(10_000)).toBe(2);
          expect(refused.stderr).toMatch(/passphrase/);
          expectNoPassphrase([a, b, refused]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      30_000,
    );

    when(
      "(5) history survives its sender: after the sender left, a late joiner gets the last 3 from the listener",
      async () => {
        // As in an open room (PROTOCOL.md HISTORY_REQ: "history survives the departure of the
        // original senders"): the remaining member answers with the sender's messages verbatim
        // (the sender's instance id inside its own sealed datagrams).
        const [h0, h1, h2] = await lab();
        const port = base + 8;
        const { lis, snd, all, sndId } = await pair(h0, h1, port, "the members see each other");
        const lines = ["history one", "history two", "history three"];
        snd.write(`${lines.join("\n")}\n`);
        await waitFor(() => messages(lis).length >= 3, 8000, "lis shows the lines", all);
        snd.end();
        expect(await snd.waitForExit(10_000)).toBe(0);
        await waitEvent(lis, (e) => e.type === "leave" && e.id === sndId, "lis sees snd leave");

        // --timeout without --count: exit 0 after 3 s, long after the 0.7 s history wait.
        const late = lateJoiner(h2, port, 3, ["--timeout", "3"]);
        all.push(late);
        expect(await late.waitForExit(10_000)).toBe(0);
        await lis.stop(3000);
        expect(joinedId(late, LIS)).toBeDefined();
        const lisS = sealedStatsOf(lis);
        const lateS = sealedStatsOf(late);
        console.log(
          `history after the sender left (${label}): late joiner showed ${messages(late).length}; undecryptable at the late joiner ${lateS.undecryptable}, at the listener ${lisS.undecryptable}`,
        );
        expect(messages(late).map((m) => m.text)).toEqual(lines);
        for (const m of messages(late)) {
          expect(m).toMatchObject({ history: true, nick: SND, id: sndId });
        }
        expect(lateS).toEqual({ undecryptable: 0, replayed: 0, plaintextDropped: 0 });
        expectNoPassphrase(all);
      },
      30_000,
    );
  });
});

/** The only element of a one-element list (for a readable failure otherwise). */
function p0(xs: string[]): string {
  expect(xs.length).toBe(1);
  return xs[0] as string;
}
