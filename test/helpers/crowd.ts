/**
 * Many room members in one process, for lab tests of crowded screens (a classroom of 40 is 39
 * sessions here, not 39 processes): each is a real Session over its own UDP transport, so each
 * has its own address:port, heartbeats and presence, as a mcchat member would.
 *
 *   bun test/helpers/crowd.ts -g GROUP -p PORT --nicks a,b,c [--heartbeat MS]
 *
 * stdout, one JSON object a line: {"ready":N} once all started; {"heard":{…}} every message
 * the first member receives (as --json prints it).
 * stdin, one command a line: `say I TEXT` (member I, from 0, sends TEXT). EOF: all leave (BYE).
 */
import { createInterface } from "node:readline";
import { validateOptions } from "../../src/config/options.ts";
import { listInterfaces } from "../../src/net/interfaces.ts";
import { openUdpTransport, roomTransportOptions } from "../../src/net/udp-transport.ts";
import { Session } from "../../src/session/session.ts";
import { formatJson } from "../../src/ui/format.ts";
import { labOnly } from "./lab-only.ts";

// Its members send multicast: only inside a lab host, as the other helpers that send.
labOnly("crowd");

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const interfaces = listInterfaces();
const nicks = (opt("--nicks") ?? "").split(",").filter((n) => n !== "");
const heartbeatMs = Number(opt("--heartbeat", "2000"));
const sessions: Session[] = [];
for (const nick of nicks) {
  const opts = validateOptions(
    { group: opt("-g"), port: opt("-p"), ttl: "1", nick },
    { interfaces, defaultNick: nick },
  );
  const transport = await openUdpTransport(roomTransportOptions(opts, interfaces));
  const session = new Session({ transport, encoding: "utf8", raw: false, nick, heartbeatMs });
  if (sessions.length === 0) {
    session.on((e) => {
      if (e.type === "message") out({ heard: JSON.parse(formatJson(e)) });
    });
  }
  sessions.push(session);
  await session.start();
}
out({ ready: sessions.length });

for await (const line of createInterface({ input: process.stdin })) {
  const m = /^say (\d+) (.*)$/.exec(line);
  if (m) await sessions[Number(m[1])]?.send(m[2] as string);
}
await Promise.all(sessions.map((s) => s.close()));
process.exit(0);
