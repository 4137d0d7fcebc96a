/**
 * Issue 16, "Encodings that just work", over real sockets between namespaced hosts: a member
 * left on the default encoding next to the legacy GBK program (test/helpers/legacy_peer.py).
 *
 *   h0 198.18.0.1  mcchat member, lines from its stdin, --json (default, or -e utf-8)
 *   h1 198.18.0.2  legacy_peer.py: recv on the room port P, and send GBK text to P
 *
 * The default member shows the GBK line as written, then copies its own lines to the legacy
 * program as GBK (never UTF-8), and says so once on stderr. With an explicit `-e utf-8` the
 * copies stay UTF-8 and nothing is said.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { messages, saidOnStderr, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  type Host,
  implementations,
  legacyPeerCommand,
  retryUntil,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, gbkHex, legacyReceiver } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.131.1";
const LEGACY = legacyPeerCommand();
const HELLO = "大家好，我是旧程序";
const NOTICE =
  "mcchat: classic programs here use GBK; copying your messages to them in GBK (--legacy / -e to change)";
const utf8Hex = (s: string) => Buffer.from(s).toString("hex");

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`a member next to a legacy GBK program${suffix}`, () => {
    const lab = sharedLab(2);
    const base = label === "source" ? 26_300 : 26_320;

    /** The member on h0 (extra flags), the legacy receiver on h1; the member has shown HELLO. */
    async function heardHello(port: number, flags: string[]) {
      const [h0, h1] = await lab();
      const ears = await legacyReceiver(h1, GROUP, port, ["--count", "0", "--timeout", "30"]);
      const member = h0.spawn(
        [...mcchat, "-y", "-g", GROUP, "-p", String(port), "--json", "-n", "ann", ...flags],
        { stdin: "pipe" },
      );
      // Readiness: the legacy program repeats its greeting until the member shows it.
      await retryUntil(
        () => h1.exec([...LEGACY, "send", GROUP, String(port), "--encoding", "gbk", HELLO]),
        () => messages(member).some((m) => m.legacy === true),
        { attempts: 20, intervalMs: 250, what: "the member shows the legacy greeting" },
      );
      return { h0, h1, ears, member };
    }

    const fromMember = (ears: { json<T>(): T[] }, h0: Host) =>
      ears.json<Datagram>().filter((d) => fromHost(h0).test(d.from));

    when(
      "(a) default member: shows the GBK line as written, copies its own lines as GBK, says so once",
      async () => {
        const port = base;
        const { h0, h1, ears, member } = await heardHello(port, []);
        const legacy = messages(member).filter((m) => m.legacy === true);
        for (const m of legacy) expect(m.text).toBe(HELLO);
        // A second GBK line: still one notice.
        await h1.exec([...LEGACY, "send", GROUP, String(port), "--encoding", "gbk", "再见"]);
        const lines = ["我是ann，默认成员", "second 第二"];
        for (const l of lines) member.write(`${l}\n`);
        await waitFor(
          () => lines.every((l) => fromMember(ears, h0).some((d) => d.hex === gbkHex(l))),
          8000,
          "the legacy program receives both lines as GBK",
          [member, ears],
        );
        await waitFor(
          () => messages(member).some((m) => m.text === "再见"),
          5000,
          "the member shows the second legacy line",
          [member],
        );
        member.end();
        expect(await member.waitForExit(8000)).toBe(0);
        const got = fromMember(ears, h0).map((d) => d.hex);
        for (const l of lines) {
          expect(got.filter((h) => h === gbkHex(l)).length).toBe(1);
          expect(got).not.toContain(utf8Hex(l));
        }
        expect(saidOnStderr(member).filter((l) => l === NOTICE)).toEqual([NOTICE]);
      },
      20_000,
    );

    when(
      "(b) an explicit -e utf-8 wins: the copies stay UTF-8 and nothing is said",
      async () => {
        const port = base + 2;
        const { h0, ears, member } = await heardHello(port, ["-e", "utf-8"]);
        const line = "我是ann，UTF-8 成员";
        member.write(`${line}\n`);
        await waitFor(
          () => fromMember(ears, h0).some((d) => d.hex === utf8Hex(line)),
          8000,
          "the legacy program receives the line as UTF-8",
          [member, ears],
        );
        member.end();
        expect(await member.waitForExit(8000)).toBe(0);
        expect(fromMember(ears, h0).map((d) => d.hex)).not.toContain(gbkHex(line));
        expect(saidOnStderr(member).filter((l) => l.includes("GBK"))).toEqual([]);
      },
      20_000,
    );
  });
});
