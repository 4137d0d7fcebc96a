/**
 * Issue 17 "[4 of 8] Rooms of 1,000", done-when "between namespaced hosts, dist/mcchat, 60 real
 * members": MEMBERS `--listen --json` members (MEMBERS_PER_HOST on each of 4 hosts), a piping
 * sender on a fifth, and a listen-only tap on a sixth (test/helpers/frame-tap.ts) that counts
 * the frames on the companion port by type. Every frame goes to the group, so what the tap sees
 * is what every member receives.
 *
 *   h0 198.18.0.1      the sender of each case: `mcchat -y --json` with lines on stdin
 *   h1..h4 .2 … .5     MEMBERS_PER_HOST members each: `mcchat -y --listen --json > FILE`
 *   h5 198.18.0.6      the tap (sends nothing)
 *
 *   a. a LINES-line pipe reaches every member completely: all lines, in order, once, no `lost`
 *      event; the sender exits 0.
 *   b. feedback on the wire during (a), from the first line until the room is quiet again
 *      (QUIET_MS without feedback): REPORT 0x13 + STREAM_REPORT 0x16 + NACK 0x10 + STREAM_NACK
 *      0x14 frames number at most 1 per MESSAGES_PER_FEEDBACK lines.
 *   c. in the settled room, one chat line (the sender stays) costs at most MAX_REPORTS_PER_LINE
 *      REPORT frames (0x13 + 0x16), counted from the line until the room is quiet.
 *   d. a member frozen (SIGSTOP) for FREEZE_MS in the middle of a LINES-line pipe, then resumed:
 *      it and every other member still receive every line, no `lost` event; the room does not
 *      stall longer than the stall rule of 0.2 (3 heartbeat intervals) allows: the longest gap in
 *      the sender's new data frames on the wire is at most STALL_RULE_MS + STALL_SLACK_MS (the
 *      pipe's extra time over (a) is printed too).
 *
 * Each case prints its figures (tap counts by type, timings, members' RSS and CPU time).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../helpers/events.ts";
import { floodInput, floodLine, floodNumber } from "../helpers/flood.ts";
import {
  assertPrivateNetns,
  BINARY,
  describeLab,
  type Host,
  implementations,
  type Proc,
  ROOT,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();

const HAVE_BIN = implementations().some((i) => i.label !== "source" && i.available);

/** Member hosts, and members on each: 60 real members in all. */
const MEMBER_HOSTS = 4;
const MEMBERS_PER_HOST = 15;
const MEMBERS = MEMBER_HOSTS * MEMBERS_PER_HOST;
/** Lines of each pipe (cases a and d). */
const LINES = 20_000;
/** At most one feedback frame per this many piped lines (case b). */
const MESSAGES_PER_FEEDBACK = 50;
/** REPORT frames (0x13 + 0x16) one chat line may cost in a settled room (case c). */
const MAX_REPORTS_PER_LINE = 5;
/** The room counts as quiet after this long without a feedback frame. */
const QUIET_MS = 3000;
/** The ambient heartbeat (--heartbeat) of every member and sender here: mcchat's default. */
const HEARTBEAT_MS = 2000;
/** 0.2's stall rule: a member whose reports stall this long stops holding the sender. */
const STALL_RULE_MS = 3 * HEARTBEAT_MS;
/** What the lab may add to the stall rule (a resumed member catching up, scheduling). */
const STALL_SLACK_MS = 2000;
/** How long the member is frozen in case d. */
const FREEZE_MS = 2000;
/** Case d freezes the member once the tap has seen this many of the sender's new data frames. */
const FREEZE_AFTER_FRAMES = LINES / 4;

const GROUP = "239.1.74.1";
const PORT = 27_410;
/** The room's options, for members and senders alike. */
const ROOM = ["-y", "-g", GROUP, "-p", String(PORT), "--heartbeat", String(HEARTBEAT_MS)];

/** Wire type codes counted (src/protocol/constants.ts TypeCode). */
const T = {
  message: 0x04,
  record: 0x06,
  nack: 0x10,
  report: 0x13,
  streamNack: 0x14,
  streamReport: 0x16,
} as const;
const REPORT_TYPES: readonly number[] = [T.report, T.streamReport];
const FEEDBACK_TYPES: readonly number[] = [T.report, T.streamReport, T.nack, T.streamNack];
const DATA_TYPES: readonly number[] = [T.message, T.record];
/** Header flag: a repair (src/protocol/constants.ts Flag.repair). */
const REPAIR_FLAG = 0x02;

/** One datagram the tap saw. */
interface TapFrame {
  ms: number;
  type: number;
  flags: number;
  bytes: number;
  id: string;
  seq: number;
}

/** The tap's frames, parsed incrementally from its stdout. */
class Tap {
  readonly frames: TapFrame[] = [];
  private read = 0;
  constructor(readonly proc: Proc) {}

  /** Parses the lines printed since the last call; returns all frames. */
  update(): TapFrame[] {
    const lines = this.proc.lines();
    for (; this.read < lines.length; this.read++) {
      const f = (lines[this.read] as string).split(" ");
      if (f.length !== 6 || f[1] === "--") continue;
      this.frames.push({
        ms: Number(f[0]),
        type: Number.parseInt(f[1] as string, 16),
        flags: Number.parseInt(f[2] as string, 16),
        bytes: Number(f[3]),
        id: f[4] as string,
        seq: Number(f[5]),
      });
    }
    return this.frames;
  }

  /** The tap's clock: the time of the newest frame (heartbeats keep it moving). */
  now(): number {
    return this.update().at(-1)?.ms ?? 0;
  }

  /** Frames from index `from` on (from a mark()). */
  since(from: number): TapFrame[] {
    return this.update().slice(from);
  }

  mark(): number {
    return this.update().length;
  }

  /**
   * Waits (bounded) until no frame of `types` arrived for `quietMs` of the tap's clock, counted
   * from the later of the mark `from` and the last such frame.
   */
  async quiet(from: number, types: readonly number[], quietMs: number, timeoutMs: number) {
    await poll(
      async () => {
        const fs = this.since(from);
        const last = fs.findLast((f) => types.includes(f.type))?.ms ?? fs[0]?.ms ?? this.now();
        return this.now() - last >= quietMs;
      },
      timeoutMs,
      () => `${quietMs} ms without ${types.map((t) => `0x${t.toString(16)}`).join("/")} frames`,
      [this.proc],
    );
  }
}

/** Counts of frames by type, as `0x13: 12, …` (sorted). */
function byType(frames: readonly TapFrame[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of frames) {
    const k = `0x${f.type.toString(16).padStart(2, "0")}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort());
}
const count = (frames: readonly TapFrame[], types: readonly number[]) =>
  frames.filter((f) => types.includes(f.type)).length;
const bytesOf = (frames: readonly TapFrame[], types: readonly number[]) =>
  frames.filter((f) => types.includes(f.type)).reduce((s, f) => s + f.bytes, 0);

/** What one member printed for one sender's pipe. */
interface Received {
  printed: number;
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  foreign: number;
}

/** One member: its process, and its --json output (a file) read incrementally. */
class Member {
  private offset = 0;
  private partial = "";
  private readonly decoder = new TextDecoder();
  /** Nicks it printed a join for. */
  readonly joined = new Set<string>();
  /** Its `lost` events, as printed. */
  readonly lost: string[] = [];
  /** Per sender instance id: the flood lines received. */
  private readonly got = new Map<string, { seen: Uint8Array; r: Received; prev: number }>();

  constructor(
    readonly nick: string,
    readonly host: Host,
    readonly file: string,
    readonly proc: Proc,
  ) {}

  /** Reads what it printed since the last call. */
  async update(): Promise<void> {
    const f = Bun.file(this.file);
    const size = f.size;
    if (size <= this.offset) return;
    const bytes = new Uint8Array(await f.slice(this.offset, size).arrayBuffer());
    this.offset += bytes.length;
    const parts = (this.partial + this.decoder.decode(bytes, { stream: true })).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.take(line);
  }

  private take(line: string): void {
    if (line.trim() === "") return;
    let e: { type?: string; nick?: string; id?: string; text?: string; history?: boolean };
    try {
      e = JSON.parse(line);
    } catch {
      this.lost.push(`not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (e.type === "join" && e.nick) this.joined.add(e.nick);
    if (e.type === "lost") this.lost.push(line);
    if (e.type !== "message" || e.history || !e.id) return;
    let g = this.got.get(e.id);
    if (!g) {
      g = {
        seen: new Uint8Array(LINES + 1),
        r: { printed: 0, distinct: 0, duplicates: 0, outOfOrder: 0, foreign: 0 },
        prev: 0,
      };
      this.got.set(e.id, g);
    }
    const tag = /^(\S+) /.exec(e.text ?? "")?.[1] ?? "";
    const i = floodNumber(tag, e.text ?? "") ?? 0;
    if (i < 1 || i > LINES) {
      g.r.foreign++;
      return;
    }
    g.r.printed++;
    if (g.seen[i]) g.r.duplicates++;
    else g.r.distinct++;
    g.seen[i] = 1;
    if (i <= g.prev) g.r.outOfOrder++;
    g.prev = i;
  }

  received(id: string): Received {
    return (
      this.got.get(id)?.r ?? { printed: 0, distinct: 0, duplicates: 0, outOfOrder: 0, foreign: 0 }
    );
  }

  /** Whether the file's last 8 KB contain `text` (cheap while 60 members are busy). */
  async tailHas(text: string): Promise<boolean> {
    const f = Bun.file(this.file);
    const size = f.size;
    return (await f.slice(Math.max(0, size - 8192), size).text()).includes(text);
  }

  /** Resident set (VmRSS) and CPU seconds (utime + stime), undefined once it is gone. */
  usage(): { rss: number; cpu: number } | undefined {
    try {
      const status = readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      const stat = readFileSync(`/proc/${this.proc.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]);
      return { rss, cpu: ticks / 100 };
    } catch {
      return undefined;
    }
  }
}

const MB = 2 ** 20;
/** How often poll() checks. */
const POLL_MS = 200;

/** Checks `cond` every POLL_MS until it holds; throws after `timeoutMs` (bounded). */
async function poll(
  cond: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
  procs: Proc[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms: ${what()}\n${procs.map((p) => p.describe()).join("\n")}`,
      );
    }
    await Bun.sleep(POLL_MS);
  }
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describeLab(
  `a room of ${MEMBERS} real members (dist/mcchat)${HAVE_BIN ? "" : " [skipped: dist/mcchat not built]"}`,
  () => {
    const lab = sharedLab(MEMBER_HOSTS + 2);
    let dir: string | undefined;
    let room: { sender: Host; members: Member[]; tap: Tap } | undefined;
    /** Case a's figures, for b (same run) and d (the baseline). */
    let pipeA: { feedback: TapFrame[]; senderSeconds: number } | undefined;

    afterAll(async () => {
      await stopAll();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Starts the tap and the members once; waits (bounded) until the tap heard every member. */
    async function theRoom() {
      if (room) return room;
      const hosts: Host[] = await lab();
      const [sender, ...rest] = hosts;
      const memberHosts = rest.slice(0, MEMBER_HOSTS);
      const tapHost = rest[MEMBER_HOSTS] as Host;
      dir = mkdtempSync(join(tmpdir(), "mcchat-big-room-"));
      const tap = new Tap(
        tapHost.spawn([
          process.execPath,
          join(ROOT, "test/helpers/frame-tap.ts"),
          GROUP,
          String(PORT),
        ]),
      );
      await tap.proc.waitForLine(/^ready$/, 15_000);
      const members: Member[] = [];
      for (let i = 0; i < MEMBERS; i++) {
        const host = memberHosts[i % MEMBER_HOSTS] as Host;
        const nick = `m${String(i + 1).padStart(2, "0")}`;
        const file = join(dir, `${nick}.jsonl`);
        const argv = [BINARY, ...ROOM, "--listen", "--json"];
        const proc = host.spawn(["sh", "-c", `exec ${argv.join(" ")} -n ${nick} > ${file}`]);
        members.push(new Member(nick, host, file, proc));
      }
      const t0 = performance.now();
      await waitFor(
        () => new Set(tap.update().map((f) => f.id)).size >= MEMBERS,
        120_000,
        `the tap hears all ${MEMBERS} members`,
        [tap.proc, ...members.map((m) => m.proc).filter((p) => p.exited)],
      );
      const usage = members.map((m) => m.usage());
      console.log(
        `[big-room] ${MEMBERS} members up in ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS per member ${(Math.max(...usage.map((u) => u?.rss ?? 0)) / MB).toFixed(1)} MB max, ${(sum(usage.map((u) => u?.rss ?? 0)) / MB).toFixed(0)} MB in all`,
      );
      room = { sender: sender as Host, members, tap };
      return room;
    }

    /**
     * Starts a sender `nick` (stdin open) and waits (bounded) until it has seen every member join
     * and every member has seen it join; returns it and its instance id.
     */
    async function startSender(nick: string) {
      const { sender, members } = await theRoom();
      const tx = sender.spawn([BINARY, ...ROOM, "--json", "--stats", "-n", nick], {
        stdin: "pipe",
      });
      const nicks = new Set(members.map((m) => m.nick));
      const sees = () => {
        const seen = new Set<string>();
        for (const l of tx.lines()) {
          const m = /"type":"join".*"nick":"(m\d+)"/.exec(l);
          if (m) seen.add(m[1] as string);
        }
        return seen.size;
      };
      await poll(
        async () => {
          await Promise.all(members.map((m) => m.update()));
          return sees() >= nicks.size && members.every((m) => m.joined.has(nick));
        },
        60_000,
        () => `${nick} and all ${MEMBERS} members see each other join (${nick} sees ${sees()})`,
        [tx],
      );
      const txId = await senderId(members[0] as Member, nick);
      return { tx, txId };
    }

    /** The sender's instance id, from a member's join line. */
    async function senderId(m: Member, nick: string): Promise<string> {
      const text = readFileSync(m.file, "utf8");
      for (const line of text.split("\n")) {
        if (!line.includes('"type":"join"')) continue;
        const e = JSON.parse(line) as { nick?: string; id?: string };
        if (e.nick === nick && e.id) return e.id;
      }
      throw new Error(`${m.nick} printed no join of ${nick}`);
    }

    /**
     * Pipes LINES lines tagged `tag` into a new sender, optionally freezing member 0 once the
     * tap saw FREEZE_AFTER_FRAMES data frames; waits (bounded) for the sender's exit, every
     * member's last line and a quiet room. Returns what the tap saw from the first line on.
     */
    async function pipe(tag: string, freeze: boolean) {
      const { members, tap } = await theRoom();
      const nick = `tx${tag}`;
      const { tx, txId } = await startSender(nick);
      const from = tap.mark();
      const t0 = performance.now();
      let peakRss = 0;
      const sample = () => {
        for (const m of members) peakRss = Math.max(peakRss, m.usage()?.rss ?? 0);
      };
      const cpuBefore = sum(members.map((m) => m.usage()?.cpu ?? 0));
      tx.write(floodInput(tag, LINES));
      tx.end();
      const newData = () =>
        tap
          .since(from)
          .filter((f) => f.id === txId && DATA_TYPES.includes(f.type) && !(f.flags & REPAIR_FLAG));
      let frozeAtMs: number | undefined;
      if (freeze) {
        const victim = members[0] as Member;
        await poll(
          async () => newData().length >= FREEZE_AFTER_FRAMES,
          300_000,
          () => `the tap sees ${FREEZE_AFTER_FRAMES} data frames`,
          [tx],
        );
        frozeAtMs = tap.now();
        process.kill(victim.proc.pid, "SIGSTOP");
        try {
          await Bun.sleep(FREEZE_MS); // the disturbance itself, not a wait for a condition
        } finally {
          process.kill(victim.proc.pid, "SIGCONT");
        }
      }
      let sampledAt = 0;
      await waitFor(
        () => {
          if (performance.now() - sampledAt > 1000) {
            sample();
            sampledAt = performance.now();
          }
          return tx.exited;
        },
        600_000,
        `${nick} exits after its ${LINES} lines`,
        [tx],
      );
      const senderSeconds = (performance.now() - t0) / 1000;
      const senderExit = tx.exitCode ?? -1;
      const last = floodLine(tag, LINES);
      const done = new Set<Member>();
      await poll(
        async () => {
          for (const m of members) if (!done.has(m) && (await m.tailHas(last))) done.add(m);
          return done.size === members.length;
        },
        60_000,
        () => `every member prints line ${LINES} (${done.size} of ${MEMBERS} did)`,
      ).catch((e) => console.log(`[big-room] ${(e as Error).message}`));
      const allSeconds = (performance.now() - t0) / 1000;
      await tap
        .quiet(from, FEEDBACK_TYPES, QUIET_MS, 60_000)
        .catch((e) => console.log(`[big-room] ${(e as Error).message}`));
      sample();
      const cpu = sum(members.map((m) => m.usage()?.cpu ?? 0)) - cpuBefore;
      for (const m of members) await m.update();
      const frames = tap.since(from);
      const data = newData();
      // The longest time the sender sent no new data while the pipe ran.
      let gapMs = 0;
      let gapAt = 0;
      for (let k = 1; k < data.length; k++) {
        const g = (data[k] as TapFrame).ms - (data[k - 1] as TapFrame).ms;
        if (g > gapMs) {
          gapMs = g;
          gapAt = (data[k - 1] as TapFrame).ms;
        }
      }
      const distinctSeqs = new Set(data.map((f) => f.seq)).size;
      const fb = count(frames, FEEDBACK_TYPES);
      console.log(
        [
          `[big-room] pipe ${tag}${freeze ? ` (m01 frozen ${FREEZE_MS} ms at tap ${frozeAtMs?.toFixed(0)} ms)` : ""}: ${LINES} lines to ${MEMBERS} members; sender exit ${senderExit} after ${senderSeconds.toFixed(1)} s (${Math.round(LINES / senderSeconds)} msg/s), every member's last line by ${allSeconds.toFixed(1)} s`,
          `  tap: ${JSON.stringify(byType(frames))}; new data frames ${data.length} (${distinctSeqs} seqs); feedback ${fb} frames, ${bytesOf(frames, FEEDBACK_TYPES)} B (REPORT ${count(frames, REPORT_TYPES)}, ${bytesOf(frames, REPORT_TYPES)} B); data ${bytesOf(frames, DATA_TYPES)} B; 1 feedback per ${(LINES / Math.max(1, fb)).toFixed(1)} lines`,
          `  longest gap in the sender's new data: ${gapMs.toFixed(0)} ms at tap ${gapAt.toFixed(0)} ms`,
          `  members: peak RSS ${(peakRss / MB).toFixed(1)} MB per member; CPU ${cpu.toFixed(1)} s in all (${(cpu / MEMBERS).toFixed(2)} s per member)`,
          `  tx stderr: ${tx.stderr.trim().replaceAll("\n", " | ")}`,
        ].join("\n"),
      );
      return { tx, txId, frames, senderSeconds, senderExit, gapMs, distinctSeqs };
    }

    /** Every member's verdict on a pipe from `txId`, against the perfect one. */
    function verdicts(txId: string) {
      const got = room?.members.map((m) => ({ nick: m.nick, ...m.received(txId), lost: m.lost }));
      const perfect = room?.members.map((m) => ({
        nick: m.nick,
        printed: LINES,
        distinct: LINES,
        duplicates: 0,
        outOfOrder: 0,
        foreign: 0,
        lost: [],
      }));
      return { got, perfect };
    }

    test.skipIf(!HAVE_BIN)(
      `a: a ${LINES}-line pipe reaches all ${MEMBERS} members, all, in order, once; the sender exits 0`,
      async () => {
        const r = await pipe("a", false);
        pipeA = {
          feedback: r.frames.filter((f) => FEEDBACK_TYPES.includes(f.type)),
          senderSeconds: r.senderSeconds,
        };
        // The tap kept up (else case b's count would be short).
        expect(r.distinctSeqs).toBeGreaterThanOrEqual(LINES);
        const { got, perfect } = verdicts(r.txId);
        expect(r.senderExit).toBe(0);
        expect(got).toEqual(perfect);
      },
      900_000,
    );

    test.skipIf(!HAVE_BIN)(
      `b: that pipe's feedback (REPORT + NACK frames) is at most 1 per ${MESSAGES_PER_FEEDBACK} lines`,
      () => {
        if (!pipeA) throw new Error("case a did not run its pipe");
        const fb = pipeA.feedback;
        console.log(
          `[big-room] b: ${fb.length} feedback frames for ${LINES} lines (limit ${LINES / MESSAGES_PER_FEEDBACK}): ${JSON.stringify(byType(fb))}, from ${new Set(fb.map((f) => f.id)).size} members`,
        );
        expect(fb.length).toBeLessThanOrEqual(LINES / MESSAGES_PER_FEEDBACK);
      },
    );

    test.skipIf(!HAVE_BIN)(
      `c: one chat line in a settled room costs at most ${MAX_REPORTS_PER_LINE} REPORT frames`,
      async () => {
        const { members, tap } = await theRoom();
        const { tx, txId } = await startSender("txc");
        try {
          // Settled: no feedback at all for QUIET_MS.
          await tap.quiet(tap.mark(), FEEDBACK_TYPES, QUIET_MS, 60_000);
          const from = tap.mark();
          const t0 = tap.now();
          const text = floodLine("c", 1);
          tx.write(`${text}\n`);
          await poll(
            async () => {
              await Promise.all(members.map((m) => m.update()));
              return members.every((m) => m.received(txId).distinct === 1);
            },
            30_000,
            () => `all ${MEMBERS} members print the line`,
            [tx],
          );
          await tap.quiet(from, FEEDBACK_TYPES, QUIET_MS, 60_000);
          const frames = tap.since(from);
          const reports = frames.filter((f) => REPORT_TYPES.includes(f.type));
          const lastMs = reports.at(-1)?.ms ?? t0;
          console.log(
            `[big-room] c: one line (${bytesOf(frames, DATA_TYPES)} B of data on the wire) cost ${reports.length} REPORT frames (${bytesOf(reports, REPORT_TYPES)} B) from ${new Set(reports.map((f) => f.id)).size} members in ${((lastMs - t0) / 1000).toFixed(1)} s; all frames: ${JSON.stringify(byType(frames))}`,
          );
          expect(members.map((m) => m.lost)).toEqual(members.map(() => []));
          expect(reports.length).toBeLessThanOrEqual(MAX_REPORTS_PER_LINE);
        } finally {
          tx.end();
          await tx.waitForExit(30_000).catch(() => tx.stop(1000));
        }
      },
      180_000,
    );

    test.skipIf(!HAVE_BIN)(
      `d: a member frozen ${FREEZE_MS} ms mid-pipe loses nothing and stalls the room no longer than the stall rule allows`,
      async () => {
        const r = await pipe("d", true);
        const { got, perfect } = verdicts(r.txId);
        const extra = pipeA ? r.senderSeconds - pipeA.senderSeconds : undefined;
        console.log(
          `[big-room] d: longest stall ${r.gapMs.toFixed(0)} ms, pipe ${r.senderSeconds.toFixed(1)} s vs ${pipeA?.senderSeconds.toFixed(1) ?? "?"} s unfrozen (extra ${extra?.toFixed(1) ?? "?"} s); bound ${(STALL_RULE_MS + STALL_SLACK_MS) / 1000} s`,
        );
        expect(r.distinctSeqs).toBeGreaterThanOrEqual(LINES);
        expect(r.senderExit).toBe(0);
        expect(got).toEqual(perfect);
        // The stall itself: the sender's longest pause in new data. The pipe's extra time over
        // case a is printed, not asserted: on a shared 2-core machine it varies by more than the
        // stall rule from run to run (before the redesign: a 262 s pipe, +23 s with the freeze,
        // whose longest pause was 2.8 s).
        expect(r.gapMs).toBeLessThanOrEqual(STALL_RULE_MS + STALL_SLACK_MS);
      },
      900_000,
    );
  },
);
