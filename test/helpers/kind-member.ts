/**
 * A room member for lab tests that also sends (and reads) the test-only record kinds of
 * probe-kind.ts, over the real UDP transport, with the real Session: what a later mcchat with a
 * new kind would be to today's members.
 *
 *   bun test/helpers/kind-member.ts -g GROUP -p PORT -n NICK [--ttl N] [--listen]
 *
 * stdin, one command a line:
 *   text <line>            send a text message
 *   probe <bytes>          send one PROBE record (stream 0, kind 0xF0) of that many bytes
 *   bulk <count> <bytes>   send `count` BULK records (stream 1, kind 0xF1; 0 = until `stop`) as
 *                          fast as stream 1's window allows, in the background
 *   stop                   stop sending BULK records
 *   drain                  wait until the room has what we sent (bounded), then say so
 * EOF: drain, then leave.
 *
 * stdout, one JSON object a line:
 *   {"sent":"text"|"probe"|"bulk","seq":S,"fragments":F,"at":WALL_MS,"took":MS,"text"?}
 *   {"seen":"probe","id":…,"stream":…,"seq":…,"bytes":…,"at":WALL_MS}   (PROBE records read)
 *   {"bulkSeen":N,"at":WALL_MS}   BULK records read so far (every 200 ms while it grows)
 *   {"nack":{"from":…,"stream":…,"ranges":[…]}}   STREAM_NACKs and NACKs heard for our streams
 *   {"event":{…}}          every session event (as --json prints it)
 *   {"bulkDone":N,"at":…}  {"drained":[…]}  {"stats":{…}}   at the end
 */
import { createInterface } from "node:readline";
import { validateOptions } from "../../src/config/options.ts";
import { listInterfaces } from "../../src/net/interfaces.ts";
import type { Transport } from "../../src/net/transport.ts";
import { openUdpTransport, roomTransportOptions } from "../../src/net/udp-transport.ts";
import { decode, isFramed } from "../../src/protocol/index.ts";
import { DEFAULT_FEATURES } from "../../src/session/features.ts";
import { Session } from "../../src/session/session.ts";
import { formatJson } from "../../src/ui/format.ts";
import { BULK_KIND, PROBE_KIND, probe, type SeenRecord } from "./probe-kind.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const interfaces = listInterfaces();
const opts = validateOptions(
  { group: opt("-g"), port: opt("-p"), ttl: opt("--ttl", "1"), nick: opt("-n", "kinds") },
  { interfaces, defaultNick: "kinds" },
);
const udp = await openUdpTransport({
  ...roomTransportOptions(opts, interfaces),
  recvBufferSize: 8 * 1024 * 1024,
});
let myId = "";
/** The room's transport, but every NACK for our streams is also printed. */
const transport: Transport = {
  send: (data, channel) => udp.send(data, channel),
  close: () => udp.close(),
  recvBufferSize: udp.recvBufferSize,
  onDatagram(handler) {
    udp.onDatagram((d) => {
      if (!d.self && isFramed(d.data)) {
        try {
          const f = decode(d.data);
          if ((f.type === "stream_nack" || f.type === "nack") && f.target === myId) {
            const stream = f.type === "stream_nack" ? f.stream : "v1";
            out({ nack: { from: `${d.address}:${d.port}`, stream, ranges: f.ranges } });
          }
        } catch {}
      }
      handler(d);
    });
  },
};
const seen: SeenRecord[] = [];
const session = new Session({
  transport,
  encoding: "utf8",
  raw: false,
  nick: opts.nick,
  listen: args.includes("--listen"),
  features: [...DEFAULT_FEATURES, probe(seen)],
});
myId = session.id;
session.on((e) => out({ event: JSON.parse(formatJson(e)) }));
// Records of the test kinds that reached us: PROBEs one by one, BULK counted.
let reported = 0;
let bulkSeen = 0;
let bulkShown = 0;
setInterval(() => {
  for (; reported < seen.length; reported++) {
    const r = seen[reported] as SeenRecord;
    if (r.kind === BULK_KIND) bulkSeen++;
    else
      out({
        seen: "probe",
        id: r.id,
        stream: r.stream,
        seq: r.seq,
        bytes: r.body.length,
        at: Date.now(),
      });
  }
  seen.length = 0;
  reported = 0;
}, 20);
setInterval(() => {
  if (bulkSeen === bulkShown) return;
  bulkShown = bulkSeen;
  out({ bulkSeen, at: Date.now() });
}, 200);
await session.start();

let bulk: Promise<void> = Promise.resolve();
let bulkStop = false;
const send = async (what: "text" | "probe" | "bulk", kind: number, value: unknown, extra = {}) => {
  const at = Date.now();
  const t0 = performance.now();
  const r =
    what === "text" ? await session.send(value as string) : await session.sendRecord(kind, value);
  out({
    sent: what,
    seq: r.seq,
    fragments: r.fragments,
    at,
    took: performance.now() - t0,
    ...extra,
  });
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [cmd, ...rest] = line.split(" ");
  if (cmd === "text") await send("text", 0, rest.join(" "), { text: rest.join(" ") });
  else if (cmd === "probe") await send("probe", PROBE_KIND, new Uint8Array(Number(rest[0])));
  else if (cmd === "bulk") {
    const [count, bytes] = [Number(rest[0]), Number(rest[1])];
    bulkStop = false;
    bulk = (async () => {
      const body = new Uint8Array(bytes);
      let n = 0;
      for (; (count === 0 || n < count) && !bulkStop; n++)
        await session.sendRecord(BULK_KIND, body);
      out({ bulkDone: n, at: Date.now() });
    })();
  } else if (cmd === "stop") {
    bulkStop = true;
    await bulk;
  } else if (cmd === "drain") out({ drained: (await session.drain()).behind });
}
await bulk;
out({ drained: (await session.drain()).behind });
out({ stats: session.stats });
await new Promise((r) => setTimeout(r, 100));
await session.close();
process.exit(0);
