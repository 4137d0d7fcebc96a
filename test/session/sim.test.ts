/**
 * Deterministic simulation of the reliability core: senders (RepairBuffer + Repairer +
 * HeartbeatSchedule) and receivers (startPoint + ReceiverWindow per sender) on a lossy in-memory
 * multicast medium, driven by a virtual clock and a seeded PRNG. Every datagram goes through the
 * real codec and is dropped independently per receiver (on the way in, and on the way out of a
 * lossy receiver, as nftables loss on a receiver's interface would).
 *
 * The `Receiver` class below is also the reference for how the session wires these modules.
 */
import { describe, expect, test } from "bun:test";
import {
  decode,
  encode,
  type Frame,
  fragmentText,
  type MessageFrame,
  type SeqRange,
  seqAdd,
  seqDiff,
} from "../../src/protocol/index.ts";
import { HeartbeatSchedule } from "../../src/session/heartbeat-schedule.ts";
import {
  type Delivery,
  ReceiverWindow,
  START_HOLD_MS,
  startPoint,
} from "../../src/session/receiver-window.ts";
import { RepairBuffer } from "../../src/session/repair-buffer.ts";
import { Repairer } from "../../src/session/repairer.ts";

// ---- deterministic randomness and virtual time ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ev {
  at: number;
  n: number;
  fn: () => void;
}

class Sim {
  now = 0;
  private heap: Ev[] = [];
  private n = 0;
  readonly nodes: Node[] = [];
  /** Drop decision for one datagram to one destination (in addition to random loss). */
  drop: (f: Frame, from: Node, to: Node) => boolean = () => false;
  datagrams = 0;

  constructor(
    readonly rng: () => number,
    readonly loss: number,
  ) {}

  at(t: number, fn: () => void): void {
    const e = { at: Math.max(t, this.now), n: this.n++, fn };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p] as Ev, e)) break;
      h[i] = h[p] as Ev;
      i = p;
    }
    h[i] = e;
  }

  private pop(): Ev | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const cand = (j: number) => j < h.length && less(h[j] as Ev, m === i ? last : (h[m] as Ev));
        if (cand(l)) m = l;
        if (cand(r)) m = r;
        if (m === i) break;
        h[i] = h[m] as Ev;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }

  run(until: number): void {
    for (;;) {
      const e = this.heap[0];
      if (!e || e.at > until) break;
      this.pop();
      this.now = e.at;
      e.fn();
    }
    this.now = until;
  }

  /** Multicast: every other node gets its own copy, or not (loss), after 0.3-1.3 ms. */
  send(from: Node, f: Frame): void {
    const bytes = encode(f);
    this.datagrams++;
    for (const to of this.nodes) {
      if (to === from) continue;
      if (from.lossy && this.rng() < this.loss) continue;
      if (to.lossy && this.rng() < this.loss) continue;
      if (this.drop(f, from, to)) continue;
      this.at(this.now + 0.3 + this.rng(), () => to.receive(decode(bytes)));
    }
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n);
}

const idOf = (i: number) => i.toString(16).padStart(16, "0");

abstract class Node {
  private armed = Number.POSITIVE_INFINITY;
  constructor(
    readonly sim: Sim,
    readonly id: string,
    readonly lossy: boolean,
  ) {
    sim.nodes.push(this);
  }
  abstract receive(f: Frame): void;
  abstract timers(): void;
  abstract deadline(): number | undefined;
  /** Arms one wake-up at the earliest deadline (a stale wake-up just finds nothing to do). */
  protected rearm(): void {
    const d = this.deadline();
    if (d === undefined) return;
    if (d < this.armed || this.armed <= this.sim.now) {
      this.armed = Math.max(d, this.sim.now);
      const at = this.armed;
      this.sim.at(at, () => {
        if (this.armed === at) this.armed = Number.POSITIVE_INFINITY;
        this.timers();
        this.rearm();
      });
    }
  }
}

// ---- sender ----

class Sender extends Node {
  readonly started: number;
  private next: number;
  readonly buffer = new RepairBuffer();
  readonly repairer: Repairer;
  readonly hb: HeartbeatSchedule;
  /** Send time of each seq, for latency measurements. */
  readonly sentAt = new Map<number, number>();
  repairsSent = 0;
  left = false;

  constructor(sim: Sim, id: string, startSeq = 0) {
    super(sim, id, false);
    this.started = sim.now;
    this.next = startSeq;
    this.repairer = new Repairer(this.buffer, { now: () => sim.now });
    this.hb = new HeartbeatSchedule(sim.now);
    this.sim.send(this, this.presence("hello"));
    this.hb.start(sim.now);
    this.rearm();
  }

  get tail(): number {
    return seqAdd(this.next, -1);
  }

  presence(type: "hello" | "heartbeat" | "bye"): Frame {
    return {
      type,
      id: this.id,
      seq: this.tail,
      nick: `s${this.id.slice(-1)}`,
      started: this.started,
    };
  }

  say(text: string): void {
    if (this.left) return;
    const parts = fragmentText(text);
    parts.forEach((payload, i) => {
      const f: MessageFrame = {
        type: "message",
        id: this.id,
        seq: this.next,
        nick: "s",
        time: Math.floor(this.sim.now),
        fragIndex: i,
        fragCount: parts.length,
        action: false,
        repair: false,
        history: false,
        payload,
      };
      this.next = seqAdd(this.next, 1);
      this.buffer.add(f);
      this.sentAt.set(f.seq, this.sim.now);
      this.sim.send(this, f);
    });
    this.hb.onMessageSent(this.sim.now);
    this.rearm();
  }

  leave(): void {
    this.sim.send(this, this.presence("bye"));
    this.left = true;
  }

  receive(f: Frame): void {
    if (this.left) return;
    if (f.type === "nack" && f.target === this.id) {
      this.repairer.onNack(f.ranges);
      this.rearm();
    }
  }

  timers(): void {
    if (this.left) return;
    const now = this.sim.now;
    if (this.hb.nextAt() <= now) {
      this.sim.send(this, this.presence("heartbeat"));
      this.hb.onHeartbeatSent(now);
    }
    const p = this.repairer.poll();
    for (const f of p.repairs) this.sim.send(this, f);
    this.repairsSent += p.repairs.length;
    if (p.gone.length)
      this.sim.send(this, { type: "gone", id: this.id, seq: this.tail, ranges: p.gone });
  }

  deadline(): number | undefined {
    if (this.left) return undefined;
    const r = this.repairer.nextDeadline();
    return r === undefined ? this.hb.nextAt() : Math.min(r, this.hb.nextAt());
  }
}

// ---- receiver: the reference wiring for the session ----

interface PeerState {
  window?: ReceiverWindow;
  presence?: { started: number; tail: number };
  firstHeard?: number;
  holdUntil?: number;
  held: MessageFrame[];
  /** Everything output, in order. */
  out: Delivery[];
  base?: number;
  byeAt?: number;
}

class Receiver extends Node {
  readonly joinedAt: number;
  readonly peers = new Map<string, PeerState>();
  nacksSent = 0;
  /** Seqs this receiver NACKed, per target, for the late-joiner check. */
  readonly nacked: { target: string; range: SeqRange }[] = [];
  /** Time each seq of each sender was delivered. */
  readonly deliveredAt = new Map<string, number>();

  constructor(
    sim: Sim,
    id: string,
    lossy: boolean,
    private readonly baseOverride?: number,
  ) {
    super(sim, id, lossy);
    this.joinedAt = sim.now;
  }

  private peer(id: string): PeerState {
    let p = this.peers.get(id);
    if (!p) {
      p = { held: [], out: [] };
      this.peers.set(id, p);
    }
    return p;
  }

  private emit(id: string, p: PeerState, out: Delivery[]): void {
    for (const d of out) {
      p.out.push(d);
      if (d.type === "frame") this.deliveredAt.set(`${id}/${d.frame.seq}`, this.sim.now);
    }
  }

  /** Creates the window once startPoint can decide, and replays what was held meanwhile. */
  private tryStart(id: string, p: PeerState): void {
    if (p.window) return;
    const base =
      this.baseOverride ??
      startPoint({
        joinedAt: this.joinedAt,
        presence: p.presence,
        firstHeard: p.firstHeard,
        holdExpired: p.holdUntil !== undefined && this.sim.now >= p.holdUntil,
      });
    if (base === undefined) return;
    p.base = base;
    p.window = new ReceiverWindow(base, { now: () => this.sim.now, random: this.sim.rng });
    for (const f of p.held) this.emit(id, p, p.window.onMessage(f));
    p.held = [];
    if (p.presence) this.emit(id, p, p.window.onTail(p.presence.tail));
  }

  receive(f: Frame): void {
    switch (f.type) {
      case "hello":
      case "heartbeat":
      case "bye": {
        const p = this.peer(f.id);
        p.presence ??= { started: f.started, tail: f.seq };
        this.tryStart(f.id, p);
        if (p.window) this.emit(f.id, p, p.window.onTail(f.seq));
        if (f.type === "bye") p.byeAt = this.sim.now;
        break;
      }
      case "message": {
        if (f.history) break; // history answers go to the history collector, not the window
        const p = this.peer(f.id);
        if (p.window) {
          this.emit(f.id, p, p.window.onMessage(f));
        } else if (!f.repair) {
          const first = seqAdd(f.seq, -f.fragIndex);
          if (p.firstHeard === undefined || seqDiff(first, p.firstHeard) < 0) p.firstHeard = first;
          if (p.held.length < 4096) p.held.push(f);
          p.holdUntil ??= this.sim.now + START_HOLD_MS;
          this.tryStart(f.id, p);
        }
        break;
      }
      case "nack": {
        // Another member's NACK: suppress ours for the same seqs. (Its header seq is the
        // requester's own tail: news about the requester, if it is also a sender.)
        this.peers.get(f.target)?.window?.onNackHeard(f.ranges);
        const q = this.peers.get(f.id)?.window;
        if (q) this.emit(f.id, this.peer(f.id), q.onTail(f.seq));
        break;
      }
      case "gone": {
        const p = this.peers.get(f.id);
        if (p?.window) {
          this.emit(f.id, p, p.window.onTail(f.seq));
          this.emit(f.id, p, p.window.onGone(f.ranges));
        }
        break;
      }
      default:
        break;
    }
    this.rearm();
  }

  timers(): void {
    for (const [id, p] of this.peers) {
      if (!p.window) {
        this.tryStart(id, p);
        continue;
      }
      // The sender said BYE: give its tail a while to be repaired, then report the rest lost.
      if (p.byeAt !== undefined && (p.window.missing === 0 || this.sim.now >= p.byeAt + 3000)) {
        this.emit(id, p, p.window.giveUp());
        p.byeAt = undefined;
      }
      for (;;) {
        const r = p.window.poll();
        this.emit(id, p, r.out);
        if (r.nack.length === 0) break;
        this.nacksSent++;
        for (const range of r.nack) this.nacked.push({ target: id, range: { ...range } });
        this.sim.send(this, {
          type: "nack",
          id: this.id,
          seq: 0xffffffff,
          target: id,
          ranges: r.nack,
        });
        const d = p.window.nextDeadline();
        if (d === undefined || d > this.sim.now) break;
      }
    }
  }

  deadline(): number | undefined {
    let d: number | undefined;
    for (const p of this.peers.values()) {
      const w = p.window?.nextDeadline() ?? (p.window ? undefined : p.holdUntil);
      const bye = p.byeAt !== undefined ? p.byeAt + 3000 : undefined;
      for (const x of [w, bye]) if (x !== undefined && (d === undefined || x < d)) d = x;
    }
    return d;
  }

  /** The seqs output for a sender, in output order (frames and lost ranges flattened). */
  outputSeqs(id: string): { seq: number; lost: boolean }[] {
    const res: { seq: number; lost: boolean }[] = [];
    for (const d of this.peers.get(id)?.out ?? []) {
      if (d.type === "frame") res.push({ seq: d.frame.seq, lost: false });
      else
        for (let i = 0; i < d.range.count; i++)
          res.push({ seq: seqAdd(d.range.start, i), lost: true });
    }
    return res;
  }
}

// ---- scenarios ----

interface RunResult {
  sim: Sim;
  senders: Sender[];
  receivers: Receiver[];
  late?: Receiver;
}

/**
 * `senders` senders each say `lines` lines (every 37th one long enough for 3 fragments), in
 * bursts of ~50 lines ~1 ms apart with 50-400 ms pauses; receivers are there from the start
 * (plus an optional late joiner). Runs until all traffic has settled.
 */
function runChat(opts: {
  seed: number;
  loss: number;
  senders?: number;
  receivers?: number;
  lines?: number;
  lateJoinAt?: number;
  startSeq?: number;
  bye?: boolean;
  /** Every line back to back, 0.1 ms apart (`cat file | mcchat`). */
  blast?: boolean;
}): RunResult {
  const rng = mulberry32(opts.seed);
  const sim = new Sim(rng, opts.loss);
  const receivers: Receiver[] = [];
  for (let i = 0; i < (opts.receivers ?? 3); i++) {
    receivers.push(new Receiver(sim, idOf(0x100 + i), true, opts.startSeq));
  }
  const senders: Sender[] = [];
  let late: Receiver | undefined;
  sim.run(5);
  for (let s = 0; s < (opts.senders ?? 2); s++) {
    const snd = new Sender(sim, idOf(0x200 + s), opts.startSeq);
    senders.push(snd);
    let t = sim.now + rng() * 20;
    for (let i = 0; i < (opts.lines ?? 1000); i++) {
      const text = i % 37 === 36 ? `${i} ${"x".repeat(2500)}` : `line ${i} from ${s}`;
      sim.at(t, () => snd.say(text));
      t += opts.blast ? 0.1 : i % 50 === 49 ? 50 + rng() * 350 : rng() * 2;
    }
    if (opts.bye) sim.at(t + 1500, () => snd.leave());
  }
  if (opts.lateJoinAt !== undefined) {
    sim.at(opts.lateJoinAt, () => {
      late = new Receiver(sim, idOf(0x300), true);
    });
  }
  sim.run(60_000);
  return { sim, senders, receivers, late };
}

/** Checks one receiver's output for one sender: seqs base..tail, each exactly once, in order. */
function checkStream(r: Receiver, s: Sender, base: number) {
  const got = r.outputSeqs(s.id);
  const n = seqDiff(s.tail, base) + 1;
  expect(got.length).toBe(n);
  for (let i = 0; i < n; i++) {
    if (got[i]?.seq !== seqAdd(base, i)) throw new Error(`seq ${i}: got ${got[i]?.seq}`);
  }
  return { delivered: got.filter((g) => !g.lost).length, lost: got.filter((g) => g.lost).length };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("simulation: 2 senders x 1,000 lines, 3 receivers", () => {
  for (const seed of [1, 2, 3]) {
    test(`20% loss (seed ${seed}): every receiver gets every fragment exactly once, in order`, () => {
      const { senders, receivers, sim } = runChat({ seed, loss: 0.2 });
      for (const r of receivers) {
        for (const s of senders) {
          expect(r.peers.get(s.id)?.window?.missing).toBe(0);
          const { lost } = checkStream(r, s, 0);
          expect(lost).toBe(0);
          expect(r.peers.get(s.id)?.window?.stats.duplicates).toBeGreaterThan(0); // repairs overlap
        }
      }
      const nacks = receivers.reduce((a, r) => a + r.nacksSent, 0);
      const repairs = senders.reduce((a, s) => a + s.repairsSent, 0);
      console.log(
        `20% seed ${seed}: ${senders.map((s) => seqAdd(s.tail, 1)).join("+")} fragments, ${nacks} NACKs, ${repairs} repairs, ${sim.datagrams} datagrams`,
      );
    });
  }

  for (const seed of [1, 2, 3]) {
    test(`40% loss (seed ${seed}): every fragment delivered exactly once in order, or reported lost`, () => {
      const { senders, receivers } = runChat({ seed, loss: 0.4 });
      let lost = 0;
      for (const r of receivers) {
        for (const s of senders) {
          expect(r.peers.get(s.id)?.window?.missing).toBe(0);
          lost += checkStream(r, s, 0).lost;
        }
      }
      console.log(`40% seed ${seed}: ${lost} fragments reported lost over 3 receivers x 2 senders`);
    });
  }

  test("40% loss, 1,000 lines each sent back to back: the rate-limited repair queue is not mistaken for loss", () => {
    const { senders, receivers } = runChat({ seed: 7, loss: 0.4, blast: true });
    let lost = 0;
    for (const r of receivers) for (const s of senders) lost += checkStream(r, s, 0).lost;
    const q = senders.map((s) => s.repairer.stats);
    console.log(
      `40% blast: ${lost} lost; repairer ${q.map((x) => `${x.repairs} repairs/${x.merged} merged/${x.dropped} dropped`).join(", ")}`,
    );
    expect(lost).toBeLessThanOrEqual(5);
  });

  test("senders leaving with BYE at 40% loss: receivers still account for every seq", () => {
    const { senders, receivers } = runChat({ seed: 9, loss: 0.4, lines: 300, bye: true });
    for (const r of receivers) for (const s of senders) checkStream(r, s, 0);
  });

  test("across the 2^32 wrap (20% loss)", () => {
    const start = 0xffffff00;
    const { senders, receivers } = runChat({ seed: 4, loss: 0.2, lines: 400, startSeq: start });
    for (const s of senders) expect(seqDiff(s.tail, start)).toBeGreaterThan(256);
    for (const r of receivers)
      for (const s of senders) expect(checkStream(r, s, start).lost).toBe(0);
  });

  test("a late joiner starts at the live edge and never NACKs history from before its join", () => {
    const { senders, late } = runChat({ seed: 5, loss: 0.2, lines: 600, lateJoinAt: 2000 });
    expect(late).toBeDefined();
    const r = late as Receiver;
    for (const s of senders) {
      const base = r.peers.get(s.id)?.base as number;
      expect(base).toBeGreaterThan(0);
      expect(seqDiff(base, s.tail)).toBeLessThanOrEqual(1);
      // everything sent before the join is before base
      for (const [seq, t] of s.sentAt)
        if (t < r.joinedAt) expect(seqDiff(seq, base)).toBeLessThan(0);
      for (const { target, range } of r.nacked) {
        if (target === s.id) expect(seqDiff(range.start, base)).toBeGreaterThanOrEqual(0);
      }
      expect(checkStream(r, s, base).lost).toBe(0);
    }
  });

  test("a receiver that lost the HELLO and the first messages still gets them (started rule)", () => {
    const rng = mulberry32(6);
    const sim = new Sim(rng, 0);
    const r = new Receiver(sim, idOf(1), false);
    sim.run(10);
    // drop the HELLO, the first heartbeats and the first 3 messages for r
    sim.drop = (f, _from, to) =>
      to === r && (f.type === "hello" || (f.type === "message" && !f.repair && f.seq < 3));
    const s = new Sender(sim, idOf(2));
    for (let i = 0; i < 5; i++) sim.at(20 + i, () => s.say(`m${i}`));
    sim.run(5000);
    expect(r.peers.get(s.id)?.base).toBe(0);
    expect(checkStream(r, s, 0)).toEqual({ delivered: 5, lost: 0 });
  });
});

describe("simulation: suppression (one loss shared by all 3 receivers, no other loss)", () => {
  /** One sender, 3 receivers, 20 messages 5 ms apart; message `k` is dropped for everyone. */
  function sharedLoss(seed: number) {
    const rng = mulberry32(seed);
    const sim = new Sim(rng, 0);
    const receivers = [0, 1, 2].map((i) => new Receiver(sim, idOf(0x100 + i), false));
    sim.run(5);
    const s = new Sender(sim, idOf(0x200));
    const k = Math.floor(rng() * 20);
    sim.drop = (f) => f.type === "message" && !f.repair && f.seq === k;
    for (let i = 0; i < 20; i++) sim.at(10 + 5 * i, () => s.say(`m${i}`));
    sim.run(10_000);
    for (const r of receivers) expect(checkStream(r, s, 0)).toEqual({ delivered: 20, lost: 0 });
    const repairedAt = Math.max(
      ...receivers.map((r) => r.deliveredAt.get(`${s.id}/${k}`) as number),
    );
    return {
      nacks: receivers.reduce((a, r) => a + r.nacksSent, 0),
      repairs: s.repairsSent,
      latency: repairedAt - (s.sentAt.get(k) as number),
      last: k === 19,
    };
  }

  test("≤ 1.5 NACKs and ≤ 1.2 repairs per shared loss, averaged over 200 seeds", () => {
    const runs = Array.from({ length: 200 }, (_, i) => sharedLoss(1000 + i));
    const nacks = mean(runs.map((r) => r.nacks));
    const repairs = mean(runs.map((r) => r.repairs));
    const lat = runs.map((r) => r.latency).sort((a, b) => a - b);
    console.log(
      `shared loss over ${runs.length} seeds: ${nacks.toFixed(3)} NACKs, ${repairs.toFixed(3)} repairs per loss (max ${Math.max(...runs.map((r) => r.nacks))} NACKs, ${Math.max(...runs.map((r) => r.repairs))} repairs); repaired after median ${lat[100]?.toFixed(0)} ms, max ${lat[lat.length - 1]?.toFixed(0)} ms`,
    );
    expect(nacks).toBeLessThanOrEqual(1.5);
    expect(repairs).toBeLessThanOrEqual(1.2);
    expect(Math.min(...runs.map((r) => r.nacks))).toBeGreaterThanOrEqual(1);
  });
});

describe("simulation: a dropped last message of a burst", () => {
  function lastLost(seed: number, loss: number) {
    const rng = mulberry32(seed);
    const sim = new Sim(rng, loss);
    const receivers = [0, 1, 2].map((i) => new Receiver(sim, idOf(0x100 + i), true));
    sim.run(5);
    const s = new Sender(sim, idOf(0x200));
    sim.run(2000); // the start-up heartbeats are over
    sim.drop = (f) => f.type === "message" && !f.repair && f.seq === 9;
    for (let i = 0; i < 10; i++) sim.at(2000 + i, () => s.say(`m${i}`));
    sim.run(20_000);
    return receivers.map((r) => {
      const t = r.deliveredAt.get(`${s.id}/9`);
      return t === undefined ? Number.POSITIVE_INFINITY : t - (s.sentAt.get(9) as number);
    });
  }

  test("is repaired within 1 s through the heartbeat's tail (no other loss)", () => {
    for (let seed = 0; seed < 50; seed++) {
      for (const lat of lastLost(seed, 0)) expect(lat).toBeLessThan(1000);
    }
    console.log(
      `tail loss, no other loss: repaired after ${lastLost(0, 0)
        .map((x) => x.toFixed(0))
        .join(", ")} ms`,
    );
  });

  test("at 20% loss on everything else, ≥ 95% of receivers have it within 1 s", () => {
    const lats = Array.from({ length: 100 }, (_, seed) => lastLost(seed, 0.2)).flat();
    lats.sort((a, b) => a - b);
    const within = lats.filter((x) => x < 1000).length / lats.length;
    console.log(
      `tail loss at 20%: ${(within * 100).toFixed(1)}% within 1 s; median ${lats[lats.length >> 1]?.toFixed(0)} ms, p95 ${lats[Math.floor(lats.length * 0.95)]?.toFixed(0)} ms`,
    );
    expect(within).toBeGreaterThanOrEqual(0.95);
    expect(lats[lats.length - 1]).toBeLessThan(Number.POSITIVE_INFINITY);
  });
});
