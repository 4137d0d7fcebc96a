/**
 * A LAN host that forges history (issue 15): it announces itself once as a 1.1 member
 * ("mallory", PRESENCE hello, then a heartbeat every 500 ms) and answers every HISTORY_REQ it
 * hears at once with a made-up TEXT record in --victim's id and --victim-nick, flagged HISTORY,
 * from the same socket (so its "member" address is the answer's source). After --seconds it
 * says BYE and exits 0. Run it only inside a lab host (same guards as hostile.ts):
 *
 *   bun test/helpers/history_forger.ts GROUP ROOM_PORT --victim ID --victim-nick NICK
 *       --text TEXT [--id ID] [--seconds S]
 *
 * stdout, one JSON line each: {"event":"ready","id":…} once it said hello, {"event":"answered",
 * "requester":…} per request answered, {"event":"bye"} at the end.
 */
import dgram from "node:dgram";
import {
  decode,
  encode,
  type Frame,
  isFramed,
  type PresenceFrame,
} from "../../src/protocol/index.ts";
import { forgerPresence, historyTextRecord } from "./frames.ts";
import { labArgs } from "./lab-args.ts";
import { type Die, labOnly } from "./lab-only.ts";

const die: Die = labOnly("history_forger");

const { group, port, opts } = labArgs(die); // frames live on the companion port
const victim = opts.victim ?? "";
if (!/^[0-9a-f]{16}$/.test(victim)) die("--victim ID (16 hex) is required");
const victimNick = opts["victim-nick"] ?? die("--victim-nick is required");
const text = opts.text ?? die("--text is required");
const id = opts.id ?? "6d616c6c6f727921";
if (!/^[0-9a-f]{16}$/.test(id)) die("--id must be 16 hex digits");
const seconds = Number(opts.seconds ?? "20");
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 120) die("--seconds must be 0..120");

const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
await new Promise<void>((resolve) => sock.bind(port, resolve));
sock.addMembership(group);
sock.setMulticastTTL(1);
sock.setMulticastLoopback(false);
const send = (f: Frame) =>
  new Promise<void>((resolve) => sock.send(encode(f), port, group, () => resolve()));

let counter = 0;
const presence = (phase: PresenceFrame["phase"]) => send(forgerPresence(id, counter++, phase));

sock.on("message", (data) => {
  if (!isFramed(data)) return;
  let f: Frame;
  try {
    f = decode(new Uint8Array(data));
  } catch {
    return;
  }
  if (f.type !== "history_req" || f.id === id) return;
  void (async () => {
    await presence("heartbeat");
    await send(historyTextRecord(victim, 1000, victimNick, text));
    say({ event: "answered", requester: f.id });
  })();
});

await presence("hello");
say({ event: "ready", id });
const beat = setInterval(() => void presence("heartbeat"), 500);
await Bun.sleep(seconds * 1000);
clearInterval(beat);
await presence("bye");
say({ event: "bye" });
sock.close();
