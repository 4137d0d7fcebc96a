/**
 * The raw-socket side of `npm run bench` (scripts/bench.ts): the smallest node:dgram sender and
 * receiver Bun can run, the limit mcchat's pipe is compared with. Lab hosts only (same guard as
 * test/helpers/frame_sender.ts): it refuses to run outside the bench's private namespace tree.
 *
 *   bun scripts/bench-udp.ts send GROUP PORT COUNT [--size 100]
 *       COUNT datagrams of --size bytes as fast as node:dgram takes them (every send's callback
 *       awaited at the end, at most 10,000 in flight). Prints {sent, errors, start, end}.
 *   bun scripts/bench-udp.ts recv GROUP PORT [--count N] [--idle MS] [--timeout S]
 *       joins GROUP, binds PORT (reuseAddr, 8 MiB receive buffer asked, like mcchat), prints
 *       READY on stderr, counts datagrams until N arrived, nothing arrived for --idle ms
 *       (default 1,000) after the first, or --timeout s (default 60). Prints
 *       {received, bytes, first, last, rcvbuf, from}. With --count 1 it is the
 *       "first datagram" probe of the start-up figure.
 *   bun scripts/bench-udp.ts echo GROUP PORT [--timeout S]
 *       answers every datagram "ping N" with "pong N" to the group (prints READY on stderr).
 *   bun scripts/bench-udp.ts ping GROUP PORT [--rate 1000] [--count 3000] [--warmup 200]
 *       the raw counterpart of scripts/bench-ping.ts's pinger: "ping N" datagrams to the group at
 *       --rate per second, round trip until "pong N" arrives; prints the same JSON figures.
 *
 * Times (start, end, first, last) are ms on a clock shared by the processes of this machine
 * (performance.timeOrigin + performance.now()), so the bench can compare them across processes.
 */
import dgram from "node:dgram";
import { readlinkSync } from "node:fs";

function die(msg: string, code = 2): never {
  process.stderr.write(`bench-udp: ${msg}\n`);
  process.exit(code);
}

if (process.env.MCCHAT_TEST_NETNS !== "1") die("refusing to run outside the bench/test runner");
try {
  if (readlinkSync("/proc/self/ns/net") === readlinkSync("/proc/1/ns/net")) {
    die("refusing to run outside a lab host (same network namespace as PID 1)");
  }
} catch (e) {
  die(`cannot check the network namespace: ${(e as Error).message}`);
}

const now = () => performance.timeOrigin + performance.now();
const [mode, group, portText, ...rest] = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = rest.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(rest[i + 1]);
  if (!Number.isFinite(n) || n < 0) die(`${name}: not a number`);
  return n;
};
const port = Number(portText);
if (!group || !/^239\.\d+\.\d+\.\d+$/.test(group)) die("GROUP must be in 239.0.0.0/8");
if (!Number.isInteger(port) || port < 1 || port > 65535) die("bad PORT");

if (mode === "send") {
  const count = Number(rest[0]);
  if (!Number.isInteger(count) || count < 1) die("bad COUNT");
  const size = opt("--size", 100);
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  sock.on("error", (e) => die(`socket: ${e.message}`, 3));
  await new Promise<void>((resolve) => sock.bind(0, resolve));
  sock.setMulticastTTL(1);
  const payload = Buffer.alloc(size, 0x61);
  let done = 0;
  let errors = 0;
  let wake: (() => void) | undefined;
  const cb = (err: Error | null) => {
    done++;
    if (err) errors++;
    wake?.();
  };
  const start = now();
  for (let i = 0; i < count; i++) {
    // Bounded in flight: without it Bun queues every datagram in memory first.
    while (i - done >= 10_000) await new Promise<void>((r) => (wake = r));
    payload.writeUInt32BE(i, 0);
    sock.send(payload, port, group, cb);
  }
  while (done < count) await new Promise<void>((r) => (wake = r));
  const end = now();
  sock.close();
  console.log(JSON.stringify({ sent: count - errors, errors, start, end }));
  process.exit(0);
} else if (mode === "recv") {
  const want = opt("--count", 0);
  const idleMs = opt("--idle", 1000);
  const timeoutS = opt("--timeout", 60);
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  sock.on("error", (e) => die(`socket: ${e.message}`, 3));
  await new Promise<void>((resolve) => sock.bind(port, group, resolve));
  sock.addMembership(group);
  try {
    sock.setRecvBufferSize(8 * 1024 * 1024);
  } catch {}
  let received = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let from = "";
  const finish = () => {
    console.log(
      JSON.stringify({
        received,
        bytes,
        first,
        last,
        rcvbuf: sock.getRecvBufferSize(),
        from,
      }),
    );
    process.exit(0);
  };
  sock.on("message", (msg, rinfo) => {
    last = now();
    if (received === 0) {
      first = last;
      from = `${rinfo.address}:${rinfo.port}`;
    }
    received++;
    bytes += msg.length;
    if (want > 0 && received >= want) finish();
  });
  setInterval(
    () => {
      if (received > 0 && now() - last >= idleMs) finish();
    },
    Math.max(10, Math.min(100, idleMs / 4)),
  );
  setTimeout(finish, timeoutS * 1000);
  process.stderr.write("READY\n");
} else if (mode === "echo" || mode === "ping") {
  // The raw round trip: the same exchange as scripts/bench-ping.ts, over one plain socket each.
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  sock.on("error", (e) => die(`socket: ${e.message}`, 3));
  await new Promise<void>((resolve) => sock.bind(port, group, resolve));
  sock.addMembership(group);
  sock.setMulticastTTL(1);
  const send = (text: string) => sock.send(text, port, group);
  setTimeout(() => die("stopped by --timeout", 1), opt("--timeout", 60) * 1000);
  if (mode === "echo") {
    sock.on("message", (msg) => {
      const text = msg.toString();
      if (text.startsWith("ping ")) send(`pong ${text.slice(5)}`);
    });
    process.stderr.write("READY\n");
  } else {
    const rate = opt("--rate", 1000);
    const count = opt("--count", 3000);
    const warmup = opt("--warmup", 200);
    const sentAt = new Float64Array(count + 1);
    const rtt = new Float64Array(count + 1).fill(Number.NaN);
    let probeAnswered = false;
    sock.on("message", (msg) => {
      const at = performance.now();
      const text = msg.toString();
      if (!text.startsWith("pong ")) return;
      const n = Number(text.slice(5));
      if (n === 0) probeAnswered = true;
      else if (n <= count && Number.isNaN(rtt[n] as number)) rtt[n] = at - (sentAt[n] as number);
    });
    while (!probeAnswered) {
      send("ping 0");
      for (let i = 0; i < 20 && !probeAnswered; i++) await Bun.sleep(10);
    }
    await Bun.sleep(200);
    const interval = 1000 / rate;
    const t0 = performance.now();
    let next = 1;
    while (next <= count) {
      const t = performance.now();
      while (next <= count && t0 + (next - 1) * interval <= t) {
        sentAt[next] = performance.now();
        send(`ping ${next}`);
        next++;
      }
      const wait = t0 + (next - 1) * interval - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const lastSent = performance.now();
    const answered = () => rtt.reduce((a, v, i) => (i > 0 && !Number.isNaN(v) ? a + 1 : a), 0);
    while (answered() < count && performance.now() - lastSent < 2000) await Bun.sleep(20);
    const xs = Array.from(rtt.subarray(warmup + 1)).filter((v) => !Number.isNaN(v));
    xs.sort((a, b) => a - b);
    const q = (p: number) =>
      xs.length
        ? (xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] as number)
        : Number.NaN;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const got = answered();
    console.log(
      JSON.stringify({
        sent: count,
        answered: got,
        lost: count - got,
        warmup,
        measured: xs.length,
        p50: r3(q(0.5)),
        p90: r3(q(0.9)),
        p99: r3(q(0.99)),
        max: r3(xs.at(-1) ?? Number.NaN),
        rate: Math.round(count / elapsed),
      }),
    );
    process.exit(0);
  }
} else {
  die("usage: bench-udp.ts send|recv|echo|ping GROUP PORT ...");
}
