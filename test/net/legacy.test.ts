/**
 * Issue 1 over real sockets: mcchat against the legacy classroom program (played by
 * test/helpers/legacy_peer.py, which uses its sockets exactly like the seed's C code),
 * from source and as the compiled binary.
 *
 * Readiness: mcchat prints no "joined" line we rely on, so a sender repeats its
 * message (bounded) until every listener has it; the legacy peer prints READY.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import iconv from "iconv-lite";
import { messages } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  implementations,
  type Lab,
  legacyPeerCommand,
  localHost,
  type Proc,
  retryUntil,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, gbkHex, legacyReceiver } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.1";
const LEGACY = legacyPeerCommand();
/** Self-bound for every listener, so none can outlive a broken test by much. */
const BOUND = ["--timeout", "20"];

/** A legacy receiver on `host` that has joined (READY). */
const legacyRecv = (host: Host, port: number, extra: string[] = []) =>
  legacyReceiver(host, GROUP, port, ["--timeout", "20", ...extra]);

/** `mcchat --listen --json --count 1 -y -p PORT …` on `host` (it exits after one message). */
function listener(host: Host, mcchat: string[], port: number, extra: string[] = []): Proc {
  const args = ["--listen", "--json", "--count", "1", "-y", "-p", String(port), ...extra];
  return host.spawn([...mcchat, ...args, ...BOUND]);
}

/** Pipe `line` into `mcchat --raw … -y` on `host`, again and again until `done()`. */
async function sendUntil(
  host: Host,
  mcchat: string[],
  args: string[],
  line: string,
  done: () => boolean,
): Promise<void> {
  let last: Proc | undefined;
  await retryUntil(
    async () => {
      last = host.spawn([...mcchat, "--raw", "-y", ...args], { stdin: `${line}\n` });
      expect(await last.waitForExit(10_000)).toBe(0);
    },
    done,
    { attempts: 20, intervalMs: 300, what: "delivery to every listener" },
  );
  expect(last?.stderr).toBe("");
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  when(
    `(a) one host: two --listen copies on one port both get a piped raw message${suffix}`,
    async () => {
      const local = localHost();
      const port = label === "source" ? 25201 : 25202;
      const listeners = [listener(local, mcchat, port), listener(local, mcchat, port)];
      await sendUntil(local, mcchat, ["-p", String(port)], "hello", () =>
        listeners.every((l) => l.exited),
      );
      for (const l of listeners) {
        expect(await l.waitForExit(5000)).toBe(0);
        const [m, ...more] = messages(l);
        expect(more).toEqual([]);
        expect(m).toMatchObject({ type: "message", text: "hello", legacy: true });
        expect(m?.from).toMatch(fromHost(local));
        expect(new Date(m?.time ?? "").toISOString()).toBe(m?.time ?? "");
      }
    },
    30_000,
  );

  describeLab(`three hosts${suffix}`, () => {
    let lab: Lab;
    let h1: Host;
    let h2: Host;
    let h3: Host;
    afterAll(() => lab?.destroy());
    const hosts = async () => {
      lab ??= await createLab(3);
      [h1, h2, h3] = lab.hosts as [Host, Host, Host];
    };
    const base = label === "source" ? 25300 : 25400;

    when(
      "(b) legacy GBK sender → mcchat -e gbk --json prints the exact text, from h1",
      async () => {
        await hosts();
        const port = base + 1;
        const text = "大家好，世界";
        const rx = listener(h2, mcchat, port, ["-e", "gbk"]);
        await retryUntil(
          () => h1.exec([...LEGACY, "send", GROUP, String(port), "--encoding", "gbk", text]),
          () => rx.exited,
          { attempts: 20, intervalMs: 300, what: "the legacy message reaching mcchat" },
        );
        expect(await rx.waitForExit(5000)).toBe(0);
        const [m, ...more] = messages(rx);
        expect(more).toEqual([]);
        expect(m).toMatchObject({ type: "message", text, legacy: true });
        expect(m?.from).toMatch(fromHost(h1));
      },
      30_000,
    );

    when(
      "(c) mcchat --raw -e gbk on h1 → exact GBK bytes at legacy peers on h2 and h3, and at mcchat (--raw on h2, default on h3) beside them",
      async () => {
        await hosts();
        const port = base + 2;
        const text = "大家好";
        const legacy2 = await legacyRecv(h2, port);
        const legacy3 = await legacyRecv(h3, port);
        // A --raw listener uses only the room port; a default one also announces itself
        // with frames, but on the companion port (port + 1): the legacy peer beside it
        // (--count 1) must still get the raw message as its first and only datagram.
        const mc2 = listener(h2, mcchat, port, ["--raw", "-e", "gbk"]);
        const mc3 = listener(h3, mcchat, port, ["-e", "gbk"]);
        const all = [legacy2, legacy3, mc2, mc3];
        await sendUntil(h1, mcchat, ["-e", "gbk", "-p", String(port)], text, () =>
          all.every((p) => p.exited),
        );
        for (const p of [legacy2, legacy3]) {
          expect(await p.waitForExit(5000)).toBe(0);
          const [d] = p.json<Datagram>();
          expect(d?.hex).toBe(gbkHex(text)); // b4f3bcd2bac3: no framing, no NUL, no newline
          expect(d?.text).toBe(text);
          expect(d?.from).toMatch(fromHost(h1));
        }
        for (const mc of [mc2, mc3]) {
          expect(await mc.waitForExit(5000)).toBe(0);
          expect(messages(mc)[0]).toMatchObject({ type: "message", text, legacy: true });
        }
      },
      30_000,
    );

    for (const lead of ["", "#"]) {
      const what = lead ? "1 ASCII + 3,000 CJK chars" : "3,000 CJK chars";
      when(
        `(e) a long raw message (${what}, gbk) arrives as datagrams ≤ 1,023 bytes that rejoin exactly`,
        async () => {
          await hosts();
          const port = base + (lead ? 4 : 3);
          // Distinct ideographs in a non-periodic order, all in GBK (U+4E00..U+9FA5).
          const text =
            lead +
            Array.from({ length: 3000 }, (_, i) =>
              String.fromCodePoint(0x4e00 + ((i * 7919) % 20902)),
            ).join("");
          const bytes = iconv.encode(text, "gbk");
          expect(iconv.decode(bytes, "gbk")).toBe(text);
          const rx = await legacyRecv(h2, port, ["--count", "0", "--idle", "1"]);
          // Sent once: the legacy peer has joined (READY) and the bridge floods multicast.
          const tx = h1.spawn([...mcchat, "--raw", "-y", "-e", "gbk", "-p", String(port)], {
            stdin: `${text}\n`,
          });
          expect(await tx.waitForExit(10_000)).toBe(0);
          expect(await rx.waitForExit(10_000)).toBe(0);
          const got = rx.json<Datagram>();
          expect(got.length).toBeGreaterThanOrEqual(Math.ceil(bytes.length / 1023));
          for (const d of got) {
            expect(d.len).toBeLessThanOrEqual(1023);
            expect(d.truncated).toBe(false);
            expect(d.text).not.toContain("\uFFFD"); // each piece ends on a character boundary
          }
          expect(got.map((d) => d.hex).join("")).toBe(bytes.toString("hex"));
          expect(got.map((d) => d.text).join("")).toBe(text);
        },
        30_000,
      );
    }
  });
});
