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
import { type Die, labOnly } from "../test/helpers/lab-only.ts";
import { PingSeries } from "./ping-series.ts";

const die: Die = labOnly("bench-udp");

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
    const series = new PingSeries({ count, rate, warmup });
    sock.on("message", (msg) => {
      const at = performance.now();
      const text = msg.toString();
      if (text.startsWith("pong ")) series.pong(Number(text.slice(5)), at);
    });
    console.log(JSON.stringify(await series.run(send)));
    process.exit(0);
  }
} else {
  die("usage: bench-udp.ts send|recv|echo|ping GROUP PORT ...");
}
