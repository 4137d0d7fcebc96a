/**
 * "The conference", big messages over real sockets between two lab hosts, from source
 * and as the compiled binary: a 10,000-character line (CJK, emoji, ASCII, …) piped into
 * one mcchat arrives whole at another; a 70,000-byte line (over the 65,536-byte limit)
 * is refused with one line on stderr, nothing of it is sent, and the sender goes on; at
 * the end it says how many input lines were not sent and exits 1 (a script can tell that
 * part of its input never went out).
 *
 * Readiness: the receiver (`--listen`, framed) must have joined before the sender's
 * first message; it has when it prints the sender's join (the sender's HELLO reached it).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { events, messages, waitEvent } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  implementations,
  type Lab,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.1";

/** 10,000 code points, no line breaks: CJK, ASCII, emoji (4-byte UTF-8), Latin, Hangul. */
function mixedText(): string {
  const out: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    switch (i % 5) {
      case 0:
      case 1:
        out.push(String.fromCodePoint(0x4e00 + ((i * 7919) % 20902)));
        break;
      case 2:
        out.push(String.fromCodePoint(0x21 + (i % 94)));
        break;
      case 3:
        out.push(String.fromCodePoint(0x1f600 + (i % 80)));
        break;
      default:
        out.push(i % 10 === 4 ? "é" : String.fromCodePoint(0xac00 + (i % 11172)));
    }
  }
  return out.join("");
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`big messages between two hosts${suffix}`, () => {
    let lab: Lab;
    afterAll(() => lab?.destroy());
    const base = label === "source" ? 25_600 : 25_620;

    /** A framed `--listen --json` receiver on h2 and a sender on h1 it has seen join. */
    async function pair(port: number, senderArgs: string[] = []) {
      lab ??= await createLab(2);
      const [h1, h2] = lab.hosts as [Host, Host];
      const room = ["-y", "-g", GROUP, "-p", String(port)];
      const rx = h2.spawn([...mcchat, ...room, "--listen", "--json", "--timeout", "30"]);
      const tx = h1.spawn([...mcchat, ...room, "-n", "sender", ...senderArgs], {
        stdin: "pipe",
      });
      const join = await waitEvent(
        rx,
        (e) => e.type === "join" && e.nick === "sender",
        "the receiver sees the sender join",
      );
      return { rx, tx, senderId: join.id };
    }

    when(
      "a 10,000-character line (CJK, emoji, ASCII) arrives whole",
      async () => {
        const text = mixedText();
        expect([...text]).toHaveLength(10_000);
        const bytes = new TextEncoder().encode(text).length;
        expect(bytes).toBeGreaterThan(20 * 1200); // many fragments
        expect(bytes).toBeLessThanOrEqual(65_536);

        const { rx, tx, senderId } = await pair(base + 1);
        tx.write(`${text}\n`);
        tx.end();
        const m = await waitEvent(
          rx,
          (e) => e.type === "message",
          "the big message at the receiver",
          15_000,
        );
        expect(m.text?.length).toBe(text.length);
        expect(m.text === text).toBe(true); // exact (toBe would print 20 kB on failure)
        expect(m).toMatchObject({ nick: "sender", id: senderId });
        expect(await tx.waitForExit(20_000)).toBe(0);
        expect(tx.stderr).toBe("");
        await waitEvent(rx, (e) => e.type === "leave" && e.id === senderId, "the sender's BYE");
        expect(messages(rx)).toHaveLength(1);
        expect(events(rx).filter((e) => e.type === "lost")).toEqual([]);
      },
      40_000,
    );

    when(
      'a 70,000-byte line: one "too long" line on stderr, nothing sent, the next line goes out, then "1 of 2 input lines not sent", exit 1',
      async () => {
        const long = `${"界".repeat(23_333)}x`;
        expect(new TextEncoder().encode(long).length).toBe(70_000);
        const after = "the short one after the long one";

        const { rx, tx, senderId } = await pair(base + 2, ["--stats"]);
        tx.write(`${long}\n`);
        tx.write(`${after}\n`);
        tx.end();
        await waitEvent(rx, (e) => e.type === "message", "a message at the receiver", 15_000);
        expect(await tx.waitForExit(20_000)).toBe(1);

        // The sender: one clear line about the long one, the count of lines not sent, the
        // stats line, no stack trace.
        const err = tx.lines("stderr").filter((l) => l !== "");
        const tooLong = err.filter((l) => /too long/.test(l));
        expect(tooLong).toHaveLength(1);
        expect(tooLong[0]).toMatch(/^mcchat: .*too long.*70,?000.*nothing was sent/);
        expect(tx.stderr).not.toMatch(/internal error|\n\s+at |TypeError|RangeError/);
        expect(err.filter((l) => /not sent/.test(l))).toEqual([
          "mcchat: 1 of 2 input lines not sent (see above)",
        ]);
        const stats = err.filter((l) => l.startsWith("mcchat: stats:"));
        expect(stats).toHaveLength(1);
        expect(stats[0]).toMatch(/\bsent 1,/); // only the short line
        expect(err).toHaveLength(3);

        // The receiver: after the sender's BYE (which carries its tail), exactly the short
        // message arrived, and nothing is missing (no "lost": nothing else was ever sent).
        await waitEvent(rx, (e) => e.type === "leave" && e.id === senderId, "the sender's BYE");
        const msgs = messages(rx);
        expect(msgs.map((e) => e.text)).toEqual([after]);
        expect(events(rx).filter((e) => e.type === "lost")).toEqual([]);
      },
      40_000,
    );
  });
});
