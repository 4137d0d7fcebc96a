import type { Datagram, Transport } from "../../net/transport.ts";
import { decodeText, encodeChunks, unencodableChars } from "../../protocol/text-codec.ts";
import type { SessionEvent } from "../events.ts";

/**
 * Send `text` as legacy datagrams (the room port, in `encoding`, split at the classic
 * program's 1,023-byte buffer). Characters the encoding cannot carry go out as "?" and are
 * reported through `warn`. Returns the number of datagrams sent.
 */
export async function sendLegacyText(
  transport: Transport,
  text: string,
  encoding: string,
  warn: (text: string) => void,
): Promise<number> {
  const bad = unencodableChars(text, encoding);
  if (bad.length > 0) {
    const list = bad.map((c) => JSON.stringify(c)).join(" ");
    warn(`${encoding} cannot encode ${list}; sent as "?"`);
  }
  let n = 0;
  for (const chunk of encodeChunks(text, encoding)) {
    await transport.send(chunk, "legacy");
    n++;
  }
  return n;
}

/** The text a legacy program shows for our message (a /me action as "* nick text"). */
export function legacyLine(text: string, nick: string, action: boolean): string {
  return action ? `* ${nick} ${text}` : text;
}

/** A legacy datagram as a message event. */
export function legacyMessage(
  d: Pick<Datagram, "data">,
  from: string,
  encoding: string,
  time: Date,
): SessionEvent {
  return { type: "message", time, from, text: decodeText(d.data, encoding), legacy: true };
}
