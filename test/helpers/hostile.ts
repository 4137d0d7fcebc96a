/**
 * A hostile neighbour for the hostile-input tests (issue 8): sends floods and forged frames to a
 * room's companion port (room port + 1, where frames live: PROTOCOL.md §1.1). Valid frames are
 * built with src/protocol's `encode`; damaged ones from those bytes. Run it only inside a lab
 * host (same guards as frame_sender.ts):
 *
 *   bun test/helpers/hostile.ts GROUP ROOM_PORT ATTACK [--count N] [--rate N/s]
 *       [--max-seconds S] [--victim ID] [--tail N] [--nick NICK] [--text TEXT] [--seed N] [--announce 1]
 *
 * ATTACK (default --count in brackets):
 *   random      N random datagrams, 0..1,400 bytes, a third starting with FF 4D 01 [100,000]
 *   truncated   valid frames of every type cut short, and with lying length/count fields,
 *               unknown types and versions [5,000]
 *   fragbomb    fragments 0..62 of 64 (1,200 bytes each) from many made-up ids, each id then
 *               a HEARTBEAT with its tail, keeping the partial message alive [--count ids: 2,000]
 *   nack        NACKs of 32 ranges x 65,535 naming --victim (the whole seq space) [200]
 *               (with --announce 1 each made-up requester first sends a HELLO, here and in
 *               history, so it is a "member" to the victim)
 *   presence    HELLO/HEARTBEAT (alternating) from made-up ids, tail 4095, age 0 [100,000 ids]
 *   history     HISTORY_REQ, count 65,535, from made-up ids [100]
 *   bye         a BYE carrying --victim's id (and --nick, --tail) [1]
 *   gone        a GONE of --victim's next seqs tail+1 .. tail+5, header tail = tail+5 [1]
 *   tailjump    a HEARTBEAT of --victim with tail + 0x7FFFFFFF [1]
 *   inject      a MESSAGE of --victim at seq tail + 1 carrying --text [1]
 *
 * It sends at most --rate datagrams per second (default 10,000; at most 50,000), stops after
 * --count datagrams (ids for fragbomb/presence) or --max-seconds (default 30, at most 120),
 * whichever comes first, and prints one JSON line: {attack, datagrams, bytes, seconds}
 * (bytes = UDP payload bytes). Exit 0 when done.
 */
import dgram from "node:dgram";
import { encode, type Frame, MAX_RANGES, type SeqRange, seqAdd } from "../../src/protocol/index.ts";
import { labArgs } from "./lab-args.ts";
import { type Die, labOnly } from "./lab-only.ts";

// Only inside a lab host (test/helpers/lab-only.ts).
const die: Die = labOnly("hostile");

// ---- arguments ----------------------------------------------------------------------------

const ATTACKS = [
  "random",
  "truncated",
  "fragbomb",
  "nack",
  "presence",
  "history",
  "bye",
  "gone",
  "tailjump",
  "inject",
] as const;
type Attack = (typeof ATTACKS)[number];
const DEFAULT_COUNT: Record<Attack, number> = {
  random: 100_000,
  truncated: 5_000,
  fragbomb: 2_000,
  nack: 200,
  presence: 100_000,
  history: 100,
  bye: 1,
  gone: 1,
  tailjump: 1,
  inject: 1,
};

const { group, port, rest, opts } = labArgs(die); // frames live on the companion port
const [attackName] = rest;
if (!ATTACKS.includes(attackName as Attack)) die(`ATTACK must be one of ${ATTACKS.join(", ")}`);
const attack = attackName as Attack;

const num = (name: string, def: number, min: number, max: number): number => {
  const raw = opts[name];
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) die(`--${name} must be ${min}..${max}`);
  return n;
};
const count = Math.floor(num("count", DEFAULT_COUNT[attack], 1, 1_000_000));
const rate = num("rate", 10_000, 1, 50_000);
const maxSeconds = num("max-seconds", 30, 0.1, 120);
const tail = Math.floor(num("tail", 0xffffffff, 0, 0xffffffff));
const nick = opts.nick ?? "victim";
const text = opts.text ?? "FORGED";
let seed = Math.floor(num("seed", Date.now() % 0x7fffffff, 0, 0x7fffffff)) || 1;
const victim = opts.victim;
/** nack/history: each made-up requester first says HELLO (an "announced member"). */
const announce = opts.announce === "1";
const needsVictim: Attack[] = ["nack", "bye", "gone", "tailjump", "inject"];
if (needsVictim.includes(attack)) {
  if (!victim || !/^[0-9a-f]{16}$/.test(victim)) die(`${attack} needs --victim ID (16 hex)`);
}

// ---- building datagrams -------------------------------------------------------------------

/** mulberry32: reproducible with --seed. */
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n: number) => Math.floor(rand() * n);
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randInt(256);
  return b;
}
/** A made-up instance id: "bad0" + a run tag + the index, so every attack uses fresh ids. */
const runTag = randInt(0x10000).toString(16).padStart(4, "0");
const fakeId = (k: number) => `bad0${runTag}${(k >>> 0).toString(16).padStart(8, "0")}`;
const fullSpace: SeqRange[] = Array.from({ length: MAX_RANGES }, (_, i) => ({
  start: (i * 0xffff) >>> 0,
  count: 0xffff,
}));
const payload = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);
const enc = new TextEncoder();
/** A MESSAGE frame without the action, repair and history flags. */
const message = (
  f: Omit<Extract<Frame, { type: "message" }>, "type" | "action" | "repair" | "history">,
): Frame => ({ type: "message", ...f, action: false, repair: false, history: false });

/** Valid frames of every type, the raw material of `truncated`. */
function sampleFrames(): Frame[] {
  const id = fakeId(randInt(1 << 30));
  const base = { id, seq: randInt(5000) };
  return [
    { type: "hello", ...base, nick: "mallory", age: 1234 },
    { type: "heartbeat", ...base, nick: "mallory", age: 1234 },
    { type: "bye", ...base, nick: "mallory", age: 1234 },
    message({
      ...base,
      nick: "mallory",
      time: Date.now(),
      fragIndex: 1,
      fragCount: 3,
      payload: payload(200),
    }),
    { type: "nack", ...base, target: fakeId(7), ranges: fullSpace.slice(0, 3) },
    { type: "gone", ...base, ranges: fullSpace.slice(0, 3) },
    { type: "history_req", ...base, count: 65535, requestId: randInt(2 ** 32) },
    { type: "report", ...base, entries: [{ target: fakeId(9), next: 5 }] },
  ];
}

/** Offsets of the length/count byte(s) a body starts with, per type code (17 = header end). */
function lie(bytes: Uint8Array): Uint8Array {
  const b = Uint8Array.from(bytes);
  const type = b[3];
  if (type === 1 || type === 2 || type === 3 || type === 4) {
    const field = type === 4 ? randInt(3) : 0;
    const nickEnd = 17 + 1 + (bytes[17] ?? 0);
    if (field === 0) {
      // nick length: 0, longer than the datagram, > 32, or one too many
      b[17] = [0, 33, 255, (b[17] ?? 0) + 1][randInt(4)] as number;
    } else if (field === 1) {
      // MESSAGE text length (after nick, time, fragment index and count): lying upward
      const at = nickEnd + 6 + 4;
      const v = [0xffff, 1201, ((b[at] ?? 0) << 8) + (b[at + 1] ?? 0) + 1][randInt(3)] as number;
      b[at] = v >> 8;
      b[at + 1] = v & 0xff;
    } else {
      // MESSAGE fragment index >= count, or count 0 / > 64
      const at = nickEnd + 6;
      b[at + 1] = 0xff;
      b[at + 3] = [0, 65, 0xff][randInt(3)] as number;
    }
  } else if (type === 0x10) {
    b[25] = [0, 33, 255, (b[25] ?? 0) + 1][randInt(4)] as number; // range count
  } else if (type === 0x11) {
    b[17] = [0, 33, 255, (b[17] ?? 0) + 1][randInt(4)] as number;
  } else if (type === 0x12) {
    b[17] = 0; // count 0
    b[18] = 0;
  } else if (type === 0x13) {
    b[17] = [0, 33, 255, (b[17] ?? 0) + 1][randInt(4)] as number; // entry count
  }
  return b;
}

/** A HELLO of made-up instance k, which has sent nothing and started a minute ago. */
const hello = (k: number) =>
  encode({ type: "hello", id: fakeId(k), seq: 0xffffffff, nick: `req${k}`, age: 60_000 });

/**
 * `count` datagrams: frame `make(i)` for i = 0..count-1, each after a HELLO of made-up
 * requester i when `announced` (--announce 1).
 */
function* each(make: (i: number) => Frame, announced = false): Generator<Uint8Array> {
  for (let i = 0; i < count; i++) {
    if (announced) yield hello(i);
    yield encode(make(i));
  }
}

/** Yields the attack's datagrams, at most `count` of them (ids for fragbomb/presence). */
function* datagrams(): Generator<Uint8Array> {
  const now = Date.now();
  switch (attack) {
    case "random":
      for (let i = 0; i < count; i++) {
        const d = randomBytes(randInt(1401));
        if (i % 3 === 0 && d.length >= 3) d.set([0xff, 0x4d, 0x01]);
        if (i % 9 === 0 && d.length >= 4)
          d[3] = [1, 2, 3, 4, 0x10, 0x11, 0x12, 0x13][randInt(8)] as number;
        yield d;
      }
      return;
    case "truncated": {
      const frames = sampleFrames().map(encode);
      for (let i = 0; i < count; i++) {
        const f = frames[i % frames.length] as Uint8Array;
        switch (randInt(5)) {
          case 0: // truncated header or body
            yield f.subarray(0, randInt(f.length));
            break;
          case 1: // lying length or count field
            yield lie(f);
            break;
          case 2: // trailing garbage
            yield Uint8Array.from([...f, ...randomBytes(1 + randInt(40))]);
            break;
          case 3: {
            // unknown type (incl. the sealed range) or version
            const b = Uint8Array.from(f);
            if (randInt(2) === 0) b[3] = [0, 5, 0x14, 0x40, 0x4f, 0xff][randInt(6)] as number;
            else b[2] = [0, 2, 0xff][randInt(3)] as number;
            yield b;
            break;
          }
          default: // header only, or less
            yield f.subarray(0, randInt(18));
        }
      }
      return;
    }
    case "fragbomb":
      for (let k = 0; k < count; k++) {
        const id = fakeId(k);
        for (let i = 0; i < 63; i++) {
          yield encode(
            message({
              id,
              seq: i,
              nick: `bomb${k}`,
              time: now,
              fragIndex: i,
              fragCount: 64,
              payload: payload(1200, 0x61 + (k % 26)),
            }),
          );
        }
        yield encode({ type: "heartbeat", id, seq: 62, nick: `bomb${k}`, age: 60_000 });
      }
      return;
    case "nack":
      yield* each(
        (i) => ({
          type: "nack",
          id: fakeId(i),
          seq: 0xffffffff,
          target: victim as string,
          ranges: fullSpace,
        }),
        announce,
      );
      return;
    case "presence":
      yield* each((k) => ({
        type: k % 2 ? "heartbeat" : "hello",
        id: fakeId(k),
        seq: 4095,
        nick: `p${k}`,
        age: 0,
      }));
      return;
    case "history":
      yield* each(
        (i) => ({
          type: "history_req",
          id: fakeId(i),
          seq: 0xffffffff,
          count: 65535,
          requestId: randInt(2 ** 32),
        }),
        announce,
      );
      return;
    case "bye":
      yield* each(() => ({ type: "bye", id: victim as string, seq: tail, nick, age: 3_600_000 }));
      return;
    case "gone":
      yield* each(() => ({
        type: "gone",
        id: victim as string,
        seq: seqAdd(tail, 5), // a GONE's header carries the sender's tail: 5 "sent" and gone
        ranges: [{ start: seqAdd(tail, 1), count: 5 }],
      }));
      return;
    case "tailjump":
      yield* each(() => ({
        type: "heartbeat",
        id: victim as string,
        seq: seqAdd(tail, 0x7fffffff),
        nick,
        age: 3_600_000,
      }));
      return;
    case "inject":
      yield* each(() =>
        message({
          id: victim as string,
          seq: seqAdd(tail, 1),
          nick,
          time: now,
          fragIndex: 0,
          fragCount: 1,
          payload: enc.encode(text),
        }),
      );
      return;
  }
}

// ---- sending, rate-limited and bounded --------------------------------------------------

const sock = dgram.createSocket("udp4");
await new Promise<void>((resolve) => sock.bind(0, resolve));
sock.setMulticastTTL(1);
try {
  sock.setSendBufferSize(4 * 1024 * 1024);
} catch {}

const started = performance.now();
const deadline = started + maxSeconds * 1000;
let sent = 0;
let bytes = 0;
let failed = 0;
const TICK_MS = 10;
const it = datagrams();
let done = false;
while (!done) {
  const tickStart = performance.now();
  if (tickStart > deadline) break;
  // Datagrams allowed by now at `rate`, minus those already sent.
  const allowed = Math.floor(((tickStart - started) / 1000) * rate) + 1 - sent;
  const batch: Promise<void>[] = [];
  for (let i = 0; i < Math.min(allowed, 2048); i++) {
    const next = it.next();
    if (next.done) {
      done = true;
      break;
    }
    const d = next.value;
    sent++;
    bytes += d.length;
    batch.push(
      new Promise<void>((resolve) =>
        sock.send(d, port, group, (err) => {
          if (err) failed++;
          resolve();
        }),
      ),
    );
  }
  await Promise.all(batch);
  const spent = performance.now() - tickStart;
  if (!done && spent < TICK_MS) await Bun.sleep(TICK_MS - spent);
}
sock.close();
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ attack, datagrams: sent, bytes, failed, seconds: Number(seconds.toFixed(3)), complete: done })}\n`,
);
