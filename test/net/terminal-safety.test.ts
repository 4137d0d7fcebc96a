/**
 * "The conference", terminal safety over real sockets: hostile bytes from the network
 * never reach the terminal as control sequences. Sent from h0 to mcchat on h1:
 *
 *   (a) legacy text (legacy_peer.py --hex): every byte 0x00–0xFF, OSC 0/2/52, CSI 2J,
 *       C1 (U+009B/U+009D as UTF-8, and as raw 8-bit bytes), bidi controls;
 *   (b) framed HELLO/MESSAGE/HEARTBEAT/BYE whose NICK (and text) carry the same, crafted
 *       with src/protocol's encode (test/helpers/frame_sender.ts: the CLI refuses such
 *       nicks).
 *
 * Plain stdout (no --json) goes to a file and its raw bytes are checked: valid UTF-8
 * (no raw 8-bit C1), no ESC, no other C0 but LF/TAB, no DEL, no U+0080–U+009F, no bidi
 * control. `--json` keeps every string exact (JSON.parse gives back what was sent). (c)
 * The chat room in a tmux pane: the pane title is not changed (OSC 0/2), no tmux buffer
 * is set (OSC 52), and the pane's raw output has no OSC, C1, bidi or clear-screen.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { events, messageTexts } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Host,
  implementations,
  type Lab,
  legacyPeerCommand,
  ROOT,
  retryUntil,
  run,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.1";
const LEGACY = legacyPeerCommand();
const FRAME_SENDER = [process.execPath, join(ROOT, "test/helpers/frame_sender.ts")];
const TMUX = Bun.which("tmux") ?? "/usr/bin/tmux";

// ---- what is sent --------------------------------------------------------------

/** Hostile sequences, each kept whole when packed into nicks. */
const SEQUENCES = [
  "\x1b]0;pwned\x07", // OSC 0: window title
  "\x1b]2;x\x1b\\", // OSC 2 with ST
  "\x1b]52;c;aGk=\x07", // OSC 52: clipboard
  "\u009b2J", // 8-bit CSI (as UTF-8): clear screen
  "\u009d0;pwned\u009c", // 8-bit OSC … ST (as UTF-8)
  "\x1b[2J", // CSI: clear screen
  "\u202Eevil\u202C", // RLO … PDF
  "\u2066iso\u2069", // LRI … PDI
  "\u2067\u2068\u200E\u200F\u061C\u202A\u202B\u202D", // other bidi controls
];
const ATTACK = SEQUENCES.join(" ");
const ALL_C0 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i));
const ALL_C1 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i));

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const range = (from: number, to: number) =>
  Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

/** Legacy datagrams: a marker "Dn:" then the bytes. LF in them is a line break (fine). */
const LEGACY_DATAGRAMS: Uint8Array[] = [
  concat(utf8("D1:"), range(0x00, 0x3f)),
  concat(utf8("D2:"), range(0x40, 0x7f)),
  concat(utf8("D3:"), range(0x80, 0xbf)),
  concat(utf8("D4:"), range(0xc0, 0xff)),
  concat(utf8("D5:"), utf8(ATTACK)),
  // 8-bit C1 as raw bytes: CSI 2J, OSC 0;x BEL (a latin1 receiver decodes them to C1).
  concat(utf8("D6:"), Uint8Array.from([0x9b, 0x32, 0x4a, 0x20, 0x9d, 0x30, 0x3b, 0x78, 0x07])),
];

/** Packs hostile pieces into nicks of at most 32 UTF-8 bytes (the wire limit). */
function packNicks(pieces: string[]): string[] {
  const out: string[] = [];
  let cur = "";
  for (const p of pieces) {
    if (cur && utf8(cur + p).length > 32) {
      out.push(cur);
      cur = "";
    }
    cur += p;
  }
  if (cur) out.push(cur);
  return out;
}
/** Every hostile sequence, every C0 (NUL, LF, CR … included), DEL and every C1 in some nick. */
const NICKS = packNicks([...SEQUENCES, ...ALL_C0, "\x7f", ...ALL_C1]);
const instanceId = (k: number) => `e1e1e1e1e1e1${k.toString(16).padStart(4, "0")}`;
/** Our crafted instances claim to have started a minute ago (presence `age`, ms). */
const AGE = 60_000;

/** HELLO + MESSAGE (seq 0) of crafted member k; the text is hostile too. */
function helloAndMessage(k: number) {
  const nick = NICKS[k] as string;
  const id = instanceId(k);
  return [
    { type: "hello", id, seq: 0xffffffff, nick, age: AGE },
    { type: "message", id, seq: 0, nick, time: "now", text: `N${k}: ${ATTACK} ${nick}` },
  ];
}
/** The last crafted member changes its nick (HEARTBEAT), then every one says BYE. */
function nickChangeAndByes() {
  const last = NICKS.length - 1;
  return [
    { type: "heartbeat", id: instanceId(last), seq: 0, nick: NICKS[0], age: AGE },
    ...NICKS.map((nick, k) => ({
      type: "bye",
      id: instanceId(k),
      seq: 0,
      nick: k === last ? NICKS[0] : nick,
      age: AGE,
    })),
  ];
}

/**
 * Frames go to the room's companion port (room port + 1), where members listen for them, always
 * from one source port: members believe an instance's frames only from where it was first heard.
 */
const FRAME_SOURCE_PORT = 40_321;
async function sendFrames(host: Host, port: number, frames: unknown[]): Promise<void> {
  await host.exec([...FRAME_SENDER, GROUP, String(port + 1), String(FRAME_SOURCE_PORT)], {
    stdin: JSON.stringify(frames),
    timeoutMs: 10_000,
  });
}

async function sendLegacy(host: Host, port: number, datagrams: Uint8Array[]): Promise<void> {
  const args = datagrams.flatMap((d) => ["--hex", hex(d)]);
  await host.exec([...LEGACY, "send", GROUP, String(port), ...args]);
}

// ---- what is checked -------------------------------------------------------------

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e]);
for (const c of [0x2066, 0x2067, 0x2068, 0x2069]) BIDI.add(c);

/**
 * What in `bytes` a terminal could act on: invalid UTF-8 (raw 8-bit C1), ESC, C0 other
 * than LF/TAB (and CR where `allowCR`), DEL, C1, bidi controls. [] if nothing.
 */
function terminalHazards(bytes: Uint8Array, opts: { allowCsi?: boolean } = {}): string[] {
  const found: string[] = [];
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    found.push("invalid UTF-8 (raw 8-bit bytes)");
    text = new TextDecoder().decode(bytes);
  }
  const context = (i: number) => JSON.stringify(text.slice(Math.max(0, i - 20), i + 20));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x1b && opts.allowCsi) {
      // The chat room's own cursor movement: CSI n A/B/C/D/G, 0J/K (never 2J, 3J, OSC…).
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ESC is the point
      const m = /^\x1b\[(\d*)([A-DGJK])/.exec(text.slice(i, i + 12));
      if (m && !(m[2] === "J" && (m[1] === "2" || m[1] === "3"))) continue;
    }
    const allowed = c === 0x0a || c === 0x09 || (c === 0x0d && opts.allowCsi);
    if ((c < 0x20 && !allowed) || (c >= 0x7f && c <= 0x9f) || BIDI.has(c)) {
      found.push(`U+${c.toString(16).padStart(4, "0")} at ${i}: ${context(i)}`);
    }
  }
  return found;
}

/** Polls `file` until `pred(text)` (bounded). */
async function waitForFile(
  file: string,
  pred: (text: string) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  for (;;) {
    try {
      text = readFileSync(file, "utf8");
    } catch {}
    if (pred(text)) return text;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} in ${file}:\n${text.slice(-3000)}`);
    }
    await Bun.sleep(30);
  }
}

describe.each(implementations())("mcchat from $label", ({ label, argv: mcchat, available }) => {
  const when = available ? test : test.skip;
  const suffix = available ? "" : " [skipped: dist/mcchat not built]";

  describeLab(`hostile text from the network${suffix}`, () => {
    let lab: Lab;
    let h0: Host;
    let h1: Host;
    let dir: string;
    afterAll(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    const setup = async () => {
      if (!lab) {
        lab = await createLab(2);
        [h0, h1] = lab.hosts as [Host, Host];
        dir = mkdtempSync(join(tmpdir(), "mcchat-safety-"));
      }
    };
    const base = label === "source" ? 25_700 : 25_720;
    const tag = label === "source" ? "src" : "bin"; // for file names

    /** mcchat on h1 with stdout (raw bytes) going to `file`. */
    const toFile = (file: string, args: string[]) =>
      h1.spawn(["sh", "-c", 'out=$1; shift; exec "$@" >"$out"', "sh", file, ...mcchat, ...args]);

    when(
      "(a) legacy text: all 256 byte values, OSC/CSI/C1/bidi → plain stdout safe, --json exact",
      async () => {
        await setup();
        const port = base + 1;
        const common = ["--listen", "-y", "-g", GROUP, "-p", String(port), "--timeout", "30"];
        const plainUtf8 = join(dir, `${tag}-a-utf8.txt`);
        const plainLatin1 = join(dir, `${tag}-a-latin1.txt`);
        // UTF-8 named: the default (auto) would read the high bytes as GB18030, a third
        // decoding this case does not need (both it and latin1 show every byte value).
        const plain = [
          toFile(plainUtf8, [...common, "-e", "utf8"]),
          toFile(plainLatin1, [...common, "-e", "latin1"]),
        ];
        const jsonUtf8 = h1.spawn([...mcchat, ...common, "--json", "-e", "utf8"]);
        const jsonLatin1 = h1.spawn([...mcchat, ...common, "--json", "-e", "latin1"]);
        const files = [plainUtf8, plainLatin1];
        const has = (f: string, s: string) => {
          try {
            return readFileSync(f, "utf8").includes(s);
          } catch {
            return false;
          }
        };

        // Readiness: a harmless probe until all four receivers print it.
        await retryUntil(
          () => sendLegacy(h0, port, [utf8("probe")]),
          () =>
            files.every((f) => has(f, "probe")) &&
            [jsonUtf8, jsonLatin1].every((p) => messageTexts(p).includes("probe")),
          { attempts: 20, intervalMs: 300, what: "the probe reaching every receiver" },
        );
        await sendLegacy(h0, port, LEGACY_DATAGRAMS);
        const markers = LEGACY_DATAGRAMS.map((_, i) => `D${i + 1}:`);
        for (const f of files) {
          await waitForFile(f, (t) => markers.every((m) => t.includes(m)), "all datagrams");
        }
        for (const p of [jsonUtf8, jsonLatin1]) {
          const deadline = Date.now() + 10_000;
          while (messageTexts(p).length < 1 + LEGACY_DATAGRAMS.length && Date.now() < deadline)
            await Bun.sleep(20);
        }
        await Promise.all([...plain, jsonUtf8, jsonLatin1].map((p) => p.stop(2000)));

        // Plain: nothing a terminal would act on, in the raw bytes.
        for (const f of files) expect(terminalHazards(readFileSync(f))).toEqual([]);
        // …and the hostile characters are shown, escaped, not silently dropped.
        const u = readFileSync(plainUtf8, "utf8");
        expect(u).toContain("^[]0;pwned^G");
        expect(u).toContain("^[]2;x^[\\");
        expect(u).toContain("^[]52;c;aGk=^G");
        expect(u).toContain("\\x9b2J");
        expect(u).toContain("^[[2J");
        expect(u).toContain("evil");
        const l1 = readFileSync(plainLatin1, "utf8");
        expect(l1).toContain("\\x9b2J \\x9d0;x^G"); // D6: raw 8-bit C1 bytes
        for (let b = 0x80; b <= 0x9f; b++) expect(l1).toContain(`\\x${b.toString(16)}`);

        // --json: every string exactly as sent (the decoder's view of the bytes).
        const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
        expect(messageTexts(jsonLatin1)).toEqual(["probe", ...LEGACY_DATAGRAMS.map(latin1)]);
        expect(messageTexts(jsonUtf8)).toEqual([
          "probe",
          ...LEGACY_DATAGRAMS.map((d) => new TextDecoder().decode(d)),
        ]);
        expect(messageTexts(jsonUtf8)[5]).toBe(`D5:${ATTACK}`); // valid UTF-8: exact
        // The JSON lines themselves are safe to print too (escapes as \uXXXX).
        for (const p of [jsonUtf8, jsonLatin1]) {
          expect(terminalHazards(utf8(p.stdout))).toEqual([]);
        }
      },
      40_000,
    );

    when(
      "(b) crafted frames: hostile nicks in HELLO/MESSAGE/HEARTBEAT/BYE → plain stdout safe, --json exact",
      async () => {
        await setup();
        const port = base + 3;
        const common = ["--listen", "-y", "-g", GROUP, "-p", String(port), "--timeout", "30"];
        const plainFile = join(dir, `${tag}-b-plain.txt`);
        const plain = toFile(plainFile, common);
        const json = h1.spawn([...mcchat, ...common, "--json"]);
        const n = NICKS.length;
        expect(n).toBeGreaterThanOrEqual(6);

        // Repeating the same frames is harmless: duplicates (same id and seq) are dropped.
        const hellos = NICKS.flatMap((_, k) => helloAndMessage(k));
        await retryUntil(
          () => sendFrames(h0, port, hellos),
          () =>
            messageTexts(json).length >= n &&
            (() => {
              try {
                const t = readFileSync(plainFile, "utf8");
                return NICKS.every((_, k) => t.includes(`N${k}:`));
              } catch {
                return false;
              }
            })(),
          { attempts: 20, intervalMs: 300, what: "every crafted message at both receivers" },
        );
        const leaves = () => events(json).filter((e) => e.type === "leave").length;
        await retryUntil(
          () => sendFrames(h0, port, nickChangeAndByes()),
          () => leaves() >= n,
          { attempts: 20, intervalMs: 300, what: "every crafted BYE" },
        );
        await waitForFile(plainFile, (t) => (t.match(/ left \(/g) ?? []).length >= n, "leaves");
        await Promise.all([plain.stop(2000), json.stop(2000)]);

        const raw = readFileSync(plainFile);
        expect(terminalHazards(raw)).toEqual([]);
        const text = raw.toString("utf8");
        expect(text).toContain("^[]0;pwned^G");
        expect(text).toContain("^[]52;c;aGk=^G");
        expect(text).toMatch(/ is now known as /);
        expect(text.match(/ joined \(198\.18\.0\.1\)/g) ?? []).toHaveLength(n);

        // --json: nicks and texts exact, per crafted instance.
        const crafted = events(json).filter((e) => e.id?.startsWith("e1e1e1e1e1e1"));
        NICKS.forEach((nick, k) => {
          const id = instanceId(k);
          const mine = crafted.filter((e) => e.id === id);
          expect(mine.find((e) => e.type === "join")?.nick === nick).toBe(true);
          const msg = mine.filter((e) => e.type === "message");
          expect(msg).toHaveLength(1);
          expect(msg[0]?.nick === nick).toBe(true);
          expect(msg[0]?.text === `N${k}: ${ATTACK} ${nick}`).toBe(true);
          expect(mine.filter((e) => e.type === "leave")).toHaveLength(1);
        });
        const change = crafted.find((e) => e.type === "nick");
        expect(change?.old === NICKS[n - 1] && change?.nick === NICKS[0]).toBe(true);
        expect(terminalHazards(utf8(json.stdout))).toEqual([]);
      },
      40_000,
    );

    when(
      "(c) the chat room in tmux: no title change, no clipboard, no OSC/C1/bidi/clear in the pane's output",
      async () => {
        await setup();
        const port = base + 5;
        const sock = join(dir, `${tag}-tmux.sock`);
        const capture = join(dir, `${tag}-pane.bin`);
        const tmux = async (...args: string[]) => {
          const r = await run([TMUX, "-S", sock, ...args], { timeoutMs: 5000 });
          if (r.code !== 0) throw new Error(`tmux ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
          return r.stdout;
        };
        const argv = [...mcchat, "-y", "-g", GROUP, "-p", String(port), "-n", "alice"];
        await h1.exec(
          [
            TMUX,
            "-S",
            sock,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
          ].concat(["-s", "main", "--", "env", `HOME=${dir}`, ...argv]),
          { timeoutMs: 10_000 },
        );
        try {
          // OSC 52 would set a tmux buffer with this on; titles are always allowed.
          await tmux("set-option", "-g", "set-clipboard", "on");
          await tmux("pipe-pane", "-t", "main", "-o", `cat >> '${capture}'`);
          const screen = async () => (await tmux("capture-pane", "-p", "-t", "main")).trimEnd();
          const deadline = Date.now() + 10_000;
          while (!/^alice> ?$/m.test(await screen())) {
            if (Date.now() > deadline) throw new Error(`no prompt:\n${await screen()}`);
            await Bun.sleep(50);
          }
          const titleBefore = (
            await tmux("display-message", "-p", "-t", "main", "#{pane_title}")
          ).trim();

          // Legacy D5/D6 and three crafted members (OSC nicks), repeated until all shown.
          const frames = [0, 1, 2].flatMap((k) => helloAndMessage(k));
          const marks = ["D5:", "D6:", "N0:", "N1:", "N2:"];
          await retryUntil(
            async () => {
              await sendLegacy(h0, port, LEGACY_DATAGRAMS.slice(4));
              await sendFrames(h0, port, frames);
            },
            () => {
              try {
                const t = readFileSync(capture, "latin1");
                return marks.every((m) => t.includes(m));
              } catch {
                return false;
              }
            },
            { attempts: 20, intervalMs: 300, what: "the hostile lines in the chat room" },
          );
          await Bun.sleep(300); // let the redraw after the last line finish

          const title = (await tmux("display-message", "-p", "-t", "main", "#{pane_title}")).trim();
          expect(title).toBe(titleBefore);
          expect(title).not.toMatch(/pwned|^x$/);
          expect((await tmux("list-buffers")).trim()).toBe("");
          expect(terminalHazards(readFileSync(capture), { allowCsi: true })).toEqual([]);
          const rows = await screen();
          expect(rows).toContain("^[]0;pwned^G");
          expect(rows).toMatch(/^alice> ?$/m); // still at the prompt
        } finally {
          await run([TMUX, "-S", sock, "kill-server"], { timeoutMs: 5000 }).catch(() => {});
        }
      },
      40_000,
    );
  });
});
