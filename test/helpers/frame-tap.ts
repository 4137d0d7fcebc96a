/**
 * A listen-only tap on a room's frames, for lab tests that count what goes over the wire
 * (test/net/big-room.test.ts): it joins GROUP on the companion port ROOM_PORT + 1 (where every
 * frame goes, PROTOCOL.md §1.1) and prints one line per datagram it receives. It never sends a
 * datagram (the kernel's IGMP join is all the wire sees of it). Run it only inside a lab host:
 *
 *   bun test/helpers/frame-tap.ts GROUP ROOM_PORT
 *
 * stdout: `ready` once joined, then one line per datagram, in batches every 50 ms:
 *   `MS TYPE FLAGS BYTES ID SEQ`
 * MS = milliseconds since the tap started (one decimal), TYPE and FLAGS the header bytes at
 * offsets 3 and 4 (two hex digits), BYTES the datagram's length, ID the instance id (16 hex
 * digits), SEQ the header's sequence number. A datagram that is not a v1 frame header (too short,
 * wrong magic) prints TYPE `--`. Sealed frames are counted by their type byte (0x40) only.
 * SIGTERM/SIGINT: the last batch is written and the tap exits 0.
 */
import dgram from "node:dgram";
import { HEADER_LENGTH, MAGIC_0, MAGIC_1 } from "../../src/protocol/constants.ts";
import { labArgs } from "./lab-args.ts";
import { type Die, labOnly } from "./lab-only.ts";

const die: Die = labOnly("frame-tap");
const { group, port } = labArgs(die);

/** Receive buffer: a 20,000-line pipe must not overflow the tap (its counts would be short). */
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;
const FLUSH_MS = 50;

const hex2 = (b: number) => b.toString(16).padStart(2, "0");
const t0 = performance.now();
let batch: string[] = [];
const flush = () => {
  if (batch.length === 0) return;
  process.stdout.write(`${batch.join("\n")}\n`);
  batch = [];
};

function describe(d: Buffer): string {
  const ms = (performance.now() - t0).toFixed(1);
  if (d.length < HEADER_LENGTH || d[0] !== MAGIC_0 || d[1] !== MAGIC_1) {
    return `${ms} -- -- ${d.length} - 0`;
  }
  const id = d.subarray(5, 13).toString("hex");
  const seq = d.readUInt32BE(13);
  return `${ms} ${hex2(d[3] as number)} ${hex2(d[4] as number)} ${d.length} ${id} ${seq}`;
}

const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
sock.on("error", (e) => die(`socket: ${e.message}`, 3));
sock.on("message", (d) => batch.push(describe(d)));
// Bound to the group address: on Linux that filters out other groups on the same port.
await new Promise<void>((resolve) => sock.bind(port, group, resolve));
sock.addMembership(group);
try {
  sock.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
} catch {
  // The kernel caps it at net.core.rmem_max; the default is still counted honestly.
}
const timer = setInterval(flush, FLUSH_MS);
process.stdout.write("ready\n");

const stop = () => {
  clearInterval(timer);
  flush();
  sock.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
