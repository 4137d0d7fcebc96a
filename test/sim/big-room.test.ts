/**
 * Big rooms (issue 17, "Rooms of 1,000"): rooms of 10, 100 and 1,000 real Sessions (the
 * shipped code through createSession, not a model) on one virtual clock, over an in-memory
 * multicast hub with 0.5-2 ms of jitter per copy and seeded per-receiver loss. Members join
 * like a lecture hall filling up (spread over JOIN_SPREAD_MS), the room settles, then:
 *
 *   1. a quiet minute: presence datagrams (HELLO, heartbeat, PRESENCE) into each member per s;
 *   2. one chat line: REPORT frames (report + stream_report) sent by all members until quiet;
 *   3. one shared loss (a line dropped for every receiver): NACK frames (nack + stream_nack);
 *   4. a pipe of lines (bulkFor) at 1 % random loss per receiver: every member receives every line,
 *      in order, exactly once (a counter and the next expected index per member).
 *
 * Frames are counted by type at the hub (byte 3 of a framed datagram), nothing is decoded.
 * The figures are printed as a table; the feedback bounds of the issue are asserted for rooms
 * of ASSERT_FROM members or more, delivery (4) at every size.
 *
 * Knobs (environment): MCCHAT_SIM_SIZES (default "10,100,1000"), MCCHAT_SIM_MESSAGES (lines
 * in phase 4, default below), MCCHAT_SIM_ASSERT_FROM (default 1000), MCCHAT_SIM_STUCK_CPU_S
 * (the guard against a run that is stuck, not slow; default below).
 *
 * No bound here is on time as the machine measures it: every phase ends at a bound of VIRTUAL
 * time, the same on any machine. The CPU figures are printed, never asserted (a slow or busy
 * machine must not fail this file); the only CPU bound is the stuck-run guard, far above
 * what a room takes on a slow machine (the room of 1,000 takes 350-700 CPU s: about 270-450
 * to join and settle, 50-75 per 1,000 piped lines).
 */
import { afterAll, expect, test } from "bun:test";
import { Flag, isFramed, TypeCode } from "../../src/protocol/index.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { createSession, type RoomSession } from "../../src/session/session.ts";
import { MemoryHub, type MemoryTransport } from "../helpers/memory-net.ts";
import { mulberry32, VirtualClock } from "../helpers/virtual-clock.ts";

const env = process.env;
const SIZES = (env.MCCHAT_SIM_SIZES ?? "10,100,1000").split(",").map(Number);
/**
 * Lines in the pipe of phase 4. The figure is 100,000 at 1,000 members: 10^8 datagram
 * deliveries, more CPU than `npm test` can spend on one file on a 2-core machine, so by
 * default the pipe is shorter in the bigger rooms (the table says how many and the CPU per
 * 1,000 lines); MCCHAT_SIM_MESSAGES=100000 runs the full figure at every size.
 */
const bulkFor = (members: number): number =>
  env.MCCHAT_SIM_MESSAGES
    ? Number(env.MCCHAT_SIM_MESSAGES)
    : members <= 10
      ? 100_000
      : members <= 100
        ? 20_000
        : 1_000;
const ASSERT_FROM = Number(env.MCCHAT_SIM_ASSERT_FROM ?? 1000);
/**
 * CPU seconds after which a room is taken as stuck (a loop that never lets virtual time reach
 * its bound) and fails: several times what the room of 1,000 takes on a slow machine.
 */
const STUCK_CPU_S = Number(env.MCCHAT_SIM_STUCK_CPU_S ?? 3600);
/**
 * The pipe's bound in virtual time: PIPE_MS_PER_LINE per line, at least PIPE_MIN_MS. A pipe
 * that has not reached every member by then is stalled (the 1,000-member room pipes 100,000
 * lines in 27 virtual s: 0.27 ms a line).
 */
const PIPE_MS_PER_LINE = 10;
const PIPE_MIN_MS = 60_000;

/** Members join over this much virtual time (a lecture hall filling up). */
const JOIN_SPREAD_MS = 60_000;
/** One datagram copy's latency: 0.5-2 ms, drawn per copy (copies overtake each other). */
const latency = (rng: () => number) => 0.5 + 1.5 * rng();
/** Loss per receiver in the pipe phase. */
const BULK_LOSS = 0.01;
/** "Quiet": no frame of the counted types for this long (virtual ms), at most QUIET_CAP_MS. */
const QUIET_MS = 3000;
const QUIET_CAP_MS = 30_000;

// The bounds.
const MAX_REPORTS_PER_LINE = 5;
const MAX_NACKS_PER_SHARED_LOSS = 5;
const MAX_PRESENCE_PER_S = 60;

const REPORT_TYPES = new Set<number>([TypeCode.report, TypeCode.stream_report]);
const NACK_TYPES = new Set<number>([TypeCode.nack, TypeCode.stream_nack]);
const PRESENCE_TYPES = new Set<number>([TypeCode.hello, TypeCode.heartbeat, TypeCode.presence]);

interface Row {
  members: number;
  settleCpuS: number;
  presencePerS: number;
  reportsPerLine: number;
  nacksPerLoss: number;
  bulk: string;
}
const rows: Row[] = [];

afterAll(() => {
  if (rows.length === 0) return;
  const head = [
    "members",
    "join+settle CPU s",
    "presence into a member /s",
    "REPORTs for one line",
    "NACKs for one shared loss",
    "pipe at 1 % loss per receiver",
  ];
  const lines = rows.map((r) => [
    String(r.members),
    r.settleCpuS.toFixed(1),
    r.presencePerS.toFixed(1),
    String(r.reportsPerLine),
    String(r.nacksPerLoss),
    r.bulk,
  ]);
  console.log(`\n| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const l of lines) console.log(`| ${l.join(" | ")} |`);
});

const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The framed type code of a datagram, or undefined (legacy text). */
const typeOf = (data: Uint8Array) => (isFramed(data) && data.length > 4 ? data[3] : undefined);

class BigRoom {
  readonly vc = new VirtualClock(1000);
  private readonly rng = mulberry32(17);
  readonly hub = new MemoryHub({
    scheduler: this.vc,
    latencyMs: () => latency(this.rng),
    keepSent: false,
  });
  readonly sessions: RoomSession[] = [];
  private readonly index = new Map<MemoryTransport, number>();
  /** Frames sent per type code (all members), and presence frames per member. */
  readonly byType = new Map<number, number>();
  readonly presenceBy: number[] = [];
  /** Virtual time the last frame of a type was sent. */
  readonly lastOf = new Map<number, number>();
  /** Random loss per receiver copy (0 = none). */
  loss = 0;
  private dropNextLine = false;
  private dropping = false;
  /** Chat lines (not the pipe's) each member got from member 0, by text. */
  readonly chat: Map<string, number>[] = [];
  /** Pipe: next expected line index per member, lines out of order / twice / lost. */
  readonly next: Int32Array;
  readonly wrong: Int32Array;
  complete = 0;
  bulkFrom = "";
  readonly bulk: number;
  private readonly started = cpuS();

  constructor(readonly n: number) {
    this.bulk = bulkFor(n);
    this.next = new Int32Array(n);
    this.wrong = new Int32Array(n);
    this.hub.onSent = (from, data) => {
      this.dropping = false;
      const type = typeOf(data);
      if (type === undefined) return;
      this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
      this.lastOf.set(type, this.vc.now());
      const i = this.index.get(from) ?? -1;
      if (PRESENCE_TYPES.has(type)) this.presenceBy[i] = (this.presenceBy[i] ?? 0) + 1;
      if (this.dropNextLine && i === 0 && type === TypeCode.record) {
        if (((data[4] as number) & Flag.repair) === 0) {
          this.dropNextLine = false;
          this.dropping = true;
        }
      }
    };
    this.hub.drop = (_to, d) => {
      if (d.self) return false;
      if (this.dropping) return true;
      return this.loss > 0 && this.rng() < this.loss;
    };
  }

  /** Drop every copy of the next original record the first member sends (a shared loss). */
  loseNextLine(): void {
    this.dropNextLine = true;
  }

  count(types: Set<number>): number {
    let n = 0;
    for (const t of types) n += this.byType.get(t) ?? 0;
    return n;
  }

  /** Fails the test if this room looks stuck: STUCK_CPU_S of CPU and still not done. */
  checkStuck(phase: string): void {
    const used = cpuS() - this.started;
    if (used > STUCK_CPU_S) {
      throw new Error(
        `room of ${this.n}: stuck in "${phase}"? ${used.toFixed(0)} CPU s used (guard ${STUCK_CPU_S} s, MCCHAT_SIM_STUCK_CPU_S), virtual t=${(this.vc.now() / 1000).toFixed(1)} s`,
      );
    }
  }

  /** Member i: its own address, default heartbeat, seeded randomness; events read cheaply. */
  join(i: number): void {
    const transport = this.hub.attach(`198.18.${i >> 8}.${i & 255}`);
    this.index.set(transport, i);
    const s = createSession({
      transport,
      encoding: "utf8",
      raw: false,
      nick: `m${i}`,
      scheduler: this.vc,
      random: mulberry32(1000 + i),
    });
    this.sessions[i] = s;
    const chat = new Map<string, number>();
    this.chat[i] = chat;
    s.on((e: SessionEvent) => {
      if (e.type === "lost") {
        this.wrong[i] = (this.wrong[i] as number) + 1;
        return;
      }
      if (e.type !== "message" || e.self || e.history) return;
      if (this.bulkFrom !== "" && e.id === this.bulkFrom) {
        const k = Number(e.text);
        if (k === this.next[i]) {
          this.next[i] = k + 1;
          if (k + 1 === this.bulk) this.complete++;
        } else this.wrong[i] = (this.wrong[i] as number) + 1;
        return;
      }
      chat.set(e.text, (chat.get(e.text) ?? 0) + 1);
    });
    void s.start();
  }

  /** Runs the clock in steps until `cond` (checked each step) or `maxMs`; returns cond(). */
  async runUntil(phase: string, cond: () => boolean, maxMs: number, stepMs = 1000) {
    const end = this.vc.now() + maxMs;
    while (!cond() && this.vc.now() < end) {
      await this.vc.runUntil(Math.min(end, this.vc.now() + stepMs));
      this.checkStuck(phase);
    }
    return cond();
  }

  /** Runs until no frame of `types` was sent for QUIET_MS (at most QUIET_CAP_MS). */
  async quiet(phase: string, types: Set<number>): Promise<void> {
    const lastAny = () => Math.max(0, ...[...types].map((t) => this.lastOf.get(t) ?? 0));
    await this.runUntil(phase, () => this.vc.now() - lastAny() >= QUIET_MS, QUIET_CAP_MS, 250);
  }

  /** Members that got chat line `text` exactly once. */
  gotOnce(text: string): number {
    let n = 0;
    for (let i = 1; i < this.n; i++) if (this.chat[i]?.get(text) === 1) n++;
    return n;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) await s.close();
  }
}

for (const n of SIZES) {
  test(
    `a room of ${n} real Sessions: feedback and a lossy pipe`,
    async () => {
      const r = new BigRoom(n);
      const failures: string[] = [];
      const bound = (what: string, value: number, max: number) => {
        if (n >= ASSERT_FROM && value > max) {
          failures.push(`${what}: ${value}, at most ${max} allowed (room of ${n})`);
        }
      };
      try {
        // Join over a minute, then settle: everyone sees everyone.
        const t0 = cpuS();
        for (let i = 0; i < n; i++) {
          r.vc.at(1000 + (i * JOIN_SPREAD_MS) / n, () => r.join(i));
        }
        await r.runUntil("join", () => r.sessions.length === n, JOIN_SPREAD_MS + 1000, 1000);
        const everyone = () => r.sessions.every((s) => s.members().length === n);
        if (!(await r.runUntil("settle", everyone, 60_000, 1000))) {
          const least = Math.min(...r.sessions.map((s) => s.members().length));
          failures.push(`the room did not settle: a member sees only ${least} of ${n}`);
        }
        await r.runUntil("settle", () => false, 10_000);
        const settleCpuS = cpuS() - t0;

        // 1. A quiet minute: presence traffic into each member.
        const before = r.presenceBy.slice();
        await r.runUntil("quiet minute", () => false, 60_000);
        let total = 0;
        let leastOwn = Number.POSITIVE_INFINITY;
        for (let i = 0; i < n; i++) {
          const own = (r.presenceBy[i] ?? 0) - (before[i] ?? 0);
          total += own;
          leastOwn = Math.min(leastOwn, own);
        }
        const presencePerS = (total - leastOwn) / 60;
        bound("presence datagrams into one member per s", presencePerS, MAX_PRESENCE_PER_S);

        const sender = r.sessions[0] as RoomSession;
        // 2. One chat line: REPORT frames from all members until the room is quiet.
        const reports0 = r.count(REPORT_TYPES);
        void sender.send("one chat line");
        if (
          !(await r.runUntil("chat line", () => r.gotOnce("one chat line") === n - 1, 10_000, 50))
        ) {
          failures.push(`one chat line reached ${r.gotOnce("one chat line")} of ${n - 1} members`);
        }
        await r.quiet("chat line", REPORT_TYPES);
        const reportsPerLine = r.count(REPORT_TYPES) - reports0;
        bound("REPORT frames for one chat line", reportsPerLine, MAX_REPORTS_PER_LINE);

        // 3. One shared loss: a line no receiver gets, then one that reveals the gap.
        const nacks0 = r.count(NACK_TYPES);
        r.loseNextLine();
        void sender.send("lost for everyone").then(() => sender.send("after the loss"));
        const both = () =>
          r.gotOnce("lost for everyone") === n - 1 && r.gotOnce("after the loss") === n - 1;
        if (!(await r.runUntil("shared loss", both, 20_000, 50))) {
          failures.push(
            `the shared loss was repaired for ${r.gotOnce("lost for everyone")} of ${n - 1} members`,
          );
        }
        await r.quiet("shared loss", NACK_TYPES);
        const nacksPerLoss = r.count(NACK_TYPES) - nacks0;
        bound("NACK frames for one shared loss", nacksPerLoss, MAX_NACKS_PER_SHARED_LOSS);

        // 4. The pipe: r.bulk lines as fast as flow control lets them go, 1 % loss per receiver.
        r.loss = BULK_LOSS;
        r.bulkFrom = sender.id;
        const b0 = cpuS();
        const v0 = r.vc.now();
        let sent = 0;
        let pipeError: unknown;
        void (async () => {
          for (; sent < r.bulk; sent++) await sender.send(String(sent));
        })().catch((e) => {
          pipeError ??= e; // closing the room ends a pipe still waiting: said below
        });
        const allGot = () => r.complete === n - 1;
        const pipeMs = Math.max(PIPE_MIN_MS, r.bulk * PIPE_MS_PER_LINE);
        const done = await r.runUntil("pipe", allGot, pipeMs, 1000);
        const bulkCpu = cpuS() - b0;
        let wrong = 0;
        for (let i = 1; i < n; i++) wrong += r.wrong[i] as number;
        if (!done) {
          let least = r.bulk;
          for (let i = 1; i < n; i++) least = Math.min(least, r.next[i] as number);
          failures.push(
            `the pipe: in ${pipeMs / 1000} virtual s, ${r.complete} of ${n - 1} members got all ${r.bulk} lines (the least got ${least}; ${sent} sent)`,
          );
        }
        if (pipeError && done) failures.push(`the pipe failed: ${String(pipeError)}`);
        if (wrong > 0) failures.push(`the pipe: ${wrong} lines out of order, twice, or lost`);
        const virtS = (r.vc.now() - v0) / 1000;
        const bulk = `${r.bulk.toLocaleString("en")} lines: ${r.complete}/${n - 1} got all, ${wrong} wrong; ${virtS.toFixed(1)} virtual s, ${bulkCpu.toFixed(1)} CPU s (${((bulkCpu * 1000) / r.bulk).toFixed(2)} s per 1,000 lines)`;
        rows.push({ members: n, settleCpuS, presencePerS, reportsPerLine, nacksPerLoss, bulk });
        console.log(`room of ${n}:`, rows.at(-1));
      } finally {
        r.loss = 0;
        await r.close();
      }
      expect(failures).toEqual([]);
    },
    // Wall time: the guard is CPU time, and a busy machine gives a test less than a core.
    (2 * STUCK_CPU_S + 120) * 1000,
  );
}
