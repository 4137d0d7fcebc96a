/**
 * Sends hand-crafted frames (src/protocol's `encode`), one datagram each, to a group.
 * For tests that need frames mcchat itself would never send (e.g. a nick full of
 * escape sequences, which the CLI refuses). Run it only inside a lab host:
 *
 *   bun test/helpers/frame_sender.ts GROUP PORT [SOURCE_PORT] < frames.json
 *
 * stdin: a JSON array of frames as `encode` takes them, except that a "message" frame
 * gives `text` (a string, sent as UTF-8) instead of `payload`, and its flags default to
 * false. `"now"` as `time` means Date.now(). Exit 0 when all were sent.
 */
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { encode, type Frame } from "../../src/protocol/index.ts";
import { type Die, labOnly } from "./lab-only.ts";

// Only inside a lab host (test/helpers/lab-only.ts).
const die: Die = labOnly("frame_sender");

const [group, portText, sourcePortText] = process.argv.slice(2);
const port = Number(portText);
if (!group || !/^239\.\d+\.\d+\.\d+$/.test(group)) die("GROUP must be in 239.0.0.0/8");
if (!Number.isInteger(port) || port < 1 || port > 65535) die("bad PORT");

type Spec = Record<string, unknown> & { type: string; text?: string };
let specs: Spec[];
try {
  specs = JSON.parse(readFileSync(0, "utf8")) as Spec[];
  if (!Array.isArray(specs)) throw new Error("not an array");
} catch (e) {
  die(`stdin must be a JSON array of frames: ${(e as Error).message}`);
}

const now = Date.now();
const datagrams = specs.map((s) => {
  const f: Record<string, unknown> = { ...s };
  if (f.time === "now") f.time = now;
  if (s.type === "message") {
    f.payload = new TextEncoder().encode(s.text ?? "");
    delete f.text;
    for (const k of ["action", "repair", "history"]) f[k] ??= false;
    f.fragIndex ??= 0;
    f.fragCount ??= 1;
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = encode(f as unknown as Frame);
  } catch (e) {
    die(`cannot encode ${JSON.stringify(s)}: ${(e as Error).message}`);
  }
  return bytes;
});

// A fixed source port (optional third argument) makes the frames of several runs come from one
// "member": mcchat believes frames for an instance only from where it was first heard.
const sourcePort = sourcePortText === undefined ? 0 : Number(sourcePortText);
if (!Number.isInteger(sourcePort) || sourcePort < 0 || sourcePort > 65535) die("bad SOURCE_PORT");
const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
await new Promise<void>((resolve) => sock.bind(sourcePort, resolve));
sock.setMulticastTTL(1);
for (const d of datagrams) {
  await new Promise<void>((resolve, reject) =>
    sock.send(d, port, group, (err) => (err ? reject(err) : resolve())),
  ).catch((e) => die(`send failed: ${(e as Error).message}`, 3));
}
sock.close();
