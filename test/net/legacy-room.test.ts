/**
 * Issue 7, part 4 over real sockets: a room shared by default (framed) mcchat members
 * and legacy programs, from source and as the compiled binary. The legacy side is
 * played twice on the room port P: by test/helpers/legacy_peer.py (the seed's socket
 * usage) and by Debian's socat; a third receiver on the companion port P+1 proves that
 * frames were flowing all along (positive control).
 *
 *   h0 198.18.0.1  mcchat "snd": default member, lines from its stdin, --json
 *   h1 198.18.0.2  mcchat "lis": --listen --json
 *   h2 198.18.0.3  legacy_peer.py recv on P and on P+1; legacy_peer.py send (speaker, probes)
 *   h3 198.18.0.4  socat -u -x UDP4-RECV:P,ip-add-membership=GROUP:198.18.0.4,reuseaddr -
 *
 * Readiness: the legacy receivers have heard a probe (sent before any member starts,
 * so no member heard legacy text unless the test makes one speak); the members have
 * seen each other join. Completeness: after the conversation a final probe is sent and
 * awaited at every receiver, so everything sent before it has arrived (one bridge, FIFO).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { events, messages, waitEvent, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  legacyPeerCommand,
  type Proc,
  retryUntil,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, gbkHex, legacyReceiver } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.130.1";
const LEGACY = legacyPeerCommand();
const SOCAT = Bun.which("socat");
/** Frames start with 0xFF (PROTOCOL.md); GBK and UTF-8 text never contain the byte 0xFF. */
const isFrame = (hex: string) => hex.startsWith("ff");
const hexOf = (s: string) => Buffer.from(s).toString("hex");

/**
 * Datagrams socat printed with -x on stderr, as hex: each starts with a header line
 * `> 2026/01/01 10:00:00.000000  length=6 from=0 to=5`, then its bytes, 16 per line.
 */
function socatDatagrams(p: Proc): string[] {
  const out: string[] = [];
  for (const line of p.lines("stderr")) {
    if (/^> \S+ \S+\s+length=\d+/.test(line)) out.push("");
    else if (out.length > 0 && /^\s*([0-9a-f]{2}\s*)+$/.test(line)) {
      out[out.length - 1] += line.replace(/\s+/g, "");
    }
  }
  return out;
}

interface Ears {
  /** legacy_peer.py on the room port. */
  py: Proc;
  /** socat on the room port. */
  socat: Proc;
  /** legacy_peer.py on the companion port (where frames belong). */
  companion: Proc;
  /** Hex of every datagram each room-port receiver got, probes excluded. */
  room(): { py: string[]; socat: string[] };
  /**
   * Sends the probe `text` from the legacy speaker (again, bounded) until every room-port
   * receiver and every given member has it.
   */
  barrier(text: string, members?: Proc[]): Promise<void>;
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`a room shared with legacy receivers (python peer and socat)${suffix}`, () => {
    const lab = sharedLab(4);
    let h0: Host;
    let h1: Host;
    let h2: Host;
    let h3: Host;
    const base = label === "source" ? 26_200 : 26_220;

    async function setup(port: number): Promise<Ears> {
      if (!SOCAT) throw new Error("socat is not installed (Debian package socat)");
      [h0, h1, h2, h3] = await lab();
      const recvArgs = ["--count", "0", "--timeout", "30"];
      const py = await legacyReceiver(h2, GROUP, port, recvArgs);
      const companion = await legacyReceiver(h2, GROUP, port + 1, recvArgs);
      const socat = h3.spawn([
        SOCAT,
        "-u",
        "-x",
        `UDP4-RECV:${port},ip-add-membership=${GROUP}:${h3.address},reuseaddr`,
        "-",
      ]);
      const probes = new Set<string>();
      const barrier = async (text: string, members: Proc[] = []) => {
        probes.add(hexOf(text));
        const has = (hexes: string[]) => hexes.includes(hexOf(text));
        await retryUntil(
          () => h2.exec([...LEGACY, "send", GROUP, String(port), text]),
          () =>
            has(py.json<Datagram>().map((d) => d.hex)) &&
            has(socatDatagrams(socat)) &&
            !socat.exited &&
            members.every((p) => messages(p).some((m) => m.text === text)),
          { attempts: 20, intervalMs: 250, what: `probe "${text}" at both legacy receivers` },
        );
      };
      await barrier("probe-ready");
      return {
        py,
        socat,
        companion,
        barrier,
        room: () => ({
          py: py
            .json<Datagram>()
            .map((d) => d.hex)
            .filter((h) => !probes.has(h)),
          socat: socatDatagrams(socat).filter((h) => !probes.has(h)),
        }),
      };
    }

    /** The two default members; resolves once each has seen the other join. */
    async function members(port: number, senderFlags: string[] = []) {
      const room = ["-y", "-g", GROUP, "-p", String(port), "-e", "gbk", "--json"];
      // Frequent heartbeats: many frames during the short conversation. The pipe sender
      // has no --timeout (with one it would stay after EOF); stopAll ends it if stuck.
      const hb = ["--heartbeat", "200"];
      const lis = h1.spawn([...mcchat, ...room, ...hb, "--timeout", "30", "--listen", "-n", "lis"]);
      const snd = h0.spawn([...mcchat, ...room, ...hb, "-n", "snd", ...senderFlags], {
        stdin: "pipe",
      });
      // snd first: if it refuses its flags, this fails at once with its stderr.
      await waitEvent(snd, (e) => e.type === "join" && e.nick === "lis", "snd sees lis");
      const sndJoin = await waitEvent(
        lis,
        (e) => e.type === "join" && e.nick === "snd",
        "lis sees snd",
      );
      return { snd, lis, sndId: sndJoin.id };
    }

    /** Pipes `lines` into snd, waits until lis shows them all, then ends snd's input. */
    async function converse(snd: Proc, lis: Proc, lines: string[]): Promise<void> {
      for (const l of lines) snd.write(`${l}\n`);
      await waitFor(
        () => lines.every((l) => messages(lis).some((m) => m.text === l)),
        8000,
        "lis shows every line",
        [snd, lis],
      );
      snd.end();
      expect(await snd.waitForExit(8000)).toBe(0);
    }

    /** Datagrams at the companion port from `host` (frames, by their first byte). */
    const framesFrom = (e: Ears, host: Host) =>
      e.companion.json<Datagram>().filter((d) => fromHost(host).test(d.from) && isFrame(d.hex));

    /**
     * After the conversation: each of `lines` reached both legacy receivers once as GBK
     * (besides the legacy text `heard`) and no frame did; lis showed each once, as snd's.
     */
    function expectBridged(
      ears: Ears,
      lis: Proc,
      sndId: unknown,
      lines: string[],
      heard: string[] = [],
    ) {
      const want = lines.map(gbkHex).sort();
      const got = ears.room();
      const others = (hexes: string[]) => hexes.filter((h) => !heard.map(gbkHex).includes(h));
      expect(got.py.filter(isFrame)).toEqual([]);
      expect(got.socat.filter(isFrame)).toEqual([]);
      expect(others(got.py).sort()).toEqual(want);
      expect(others(got.socat).sort()).toEqual(want);
      const shown = messages(lis).filter((m) => lines.includes(m.text ?? ""));
      expect(shown.map((m) => m.text)).toEqual(lines);
      for (const m of shown) expect(m).toMatchObject({ id: sndId, nick: "snd" });
      return { want, shown };
    }

    when(
      "(a) two default members converse: the legacy receivers get no frame — nothing at all — while frames flow on P+1",
      async () => {
        const port = base;
        const ears = await setup(port);
        const { snd, lis } = await members(port);
        const lines = ["第一行", "second line", "第三行 third"];
        await converse(snd, lis, lines);
        // Positive control: the listen-only member kept sending frames (HELLO, heartbeats)
        // all along — to the companion port.
        await waitFor(() => framesFrom(ears, h1).length >= 5, 8000, "lis's frames on P+1", [
          ears.companion,
        ]);
        expect(framesFrom(ears, h0).length).toBeGreaterThanOrEqual(lines.length);
        await ears.barrier("probe-end");

        const got = ears.room();
        expect(got.py.filter(isFrame)).toEqual([]);
        expect(got.socat.filter(isFrame)).toEqual([]);
        // Without legacy mode (no flag, no legacy text heard) nobody bridges, and the
        // listen-only member never sends to the room port.
        expect(got.py).toEqual([]);
        expect(got.socat).toEqual([]);
        const fromLis = ears.py.json<Datagram>().filter((d) => fromHost(h1).test(d.from));
        expect(fromLis).toEqual([]);
        expect(
          messages(lis)
            .filter((m) => !m.legacy)
            .map((m) => m.text),
        ).toEqual(lines);
      },
      15_000,
    );

    when(
      "(b) --legacy on the sender: each message reaches the legacy receivers once as GBK, from the frames' source; the listener shows it once",
      async () => {
        const port = base + 2;
        const ears = await setup(port);
        const { snd, lis, sndId } = await members(port, ["--legacy"]);
        const lines = ["你好，第一条", "第二条消息", "third 第三"];
        await converse(snd, lis, lines);
        await ears.barrier("probe-end", [lis]);

        const { want, shown } = expectBridged(ears, lis, sndId, lines);
        // Bridged text leaves from the same socket as snd's frames.
        const framePorts = new Set(framesFrom(ears, h0).map((d) => d.from));
        expect(framePorts.size).toBe(1);
        const textFrom = ears.py
          .json<Datagram>()
          .filter((d) => want.includes(d.hex))
          .map((d) => d.from);
        expect(new Set(textFrom)).toEqual(framePorts);
        // The listener showed each line once, as snd's framed message (not a legacy copy).
        expect(shown.some((m) => m.legacy)).toBe(false);
      },
      15_000,
    );

    when(
      "(c) after a legacy program spoke, a default sender (no flag) bridges: each later message once as GBK at the legacy receivers, once at the listener",
      async () => {
        const port = base + 4;
        const ears = await setup(port);
        const { snd, lis, sndId } = await members(port);
        const oldText = "老师好，我用的是旧程序";
        await h2.exec([...LEGACY, "send", GROUP, String(port), "--encoding", "gbk", oldText]);
        const isOld = (e: { text?: string; legacy?: boolean }) => e.text === oldText && !!e.legacy;
        await waitFor(
          () => [snd, lis].every((p) => messages(p).some(isOld)),
          5000,
          "both members show the legacy line",
          [snd, lis],
        );
        for (const p of [snd, lis]) {
          const shown = messages(p).filter((m) => m.text === oldText);
          expect(shown.length).toBe(1);
          expect(shown[0]).toMatchObject({ legacy: true });
          expect(shown[0]?.from).toMatch(fromHost(h2));
          expect(shown[0]?.id).toBeUndefined();
        }

        const lines = ["好的，老师", "第二条", "third 第三"];
        await converse(snd, lis, lines);
        await ears.barrier("probe-end", [lis]);

        // Framed members still show each message once: lis as snd's, snd its own once.
        const { want } = expectBridged(ears, lis, sndId, lines, [oldText]);
        const textFrom = ears.py.json<Datagram>().filter((d) => want.includes(d.hex));
        for (const d of textFrom) expect(d.from).toMatch(fromHost(h0));
        expect(messages(lis).filter((m) => m.text === oldText).length).toBe(1);
        // The sender does not show its own bridged copies as legacy messages.
        expect(events(snd).filter((e) => e.legacy && lines.includes(e.text ?? ""))).toEqual([]);
      },
      15_000,
    );
  });
});
