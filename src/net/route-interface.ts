import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import type { NetInterface } from "../config/options.ts";
import type { TransportInterface } from "./udp-transport.ts";

/** Any port: connecting a UDP socket sends nothing, it only asks the kernel for a route. */
const PROBE_PORT = 9;

/**
 * The local address the system would send to `group` from, or undefined (no route, or the
 * platform cannot tell): a UDP socket connected to the group, which sends nothing.
 */
export function probeSourceAddress(group: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let sock: dgram.Socket;
    try {
      sock = dgram.createSocket(isIPv6(group) ? "udp6" : "udp4");
    } catch {
      return resolve(undefined);
    }
    const done = (address: string | undefined) => {
      try {
        sock.close();
      } catch {}
      resolve(address);
    };
    sock.on("error", () => done(undefined));
    try {
      sock.connect(PROBE_PORT, group, () => {
        try {
          const a = sock.address().address;
          const pct = a.indexOf("%");
          const address = pct < 0 ? a : a.slice(0, pct);
          // The wildcard: the platform connected without choosing a source (no route).
          done(address === "0.0.0.0" || address === "::" ? undefined : address);
        } catch {
          done(undefined);
        }
      });
    } catch {
      done(undefined);
    }
  });
}

/**
 * The interface the system routes `group` over now (a multicast route, else the default
 * route), to pin sending to it at join: a route lost with the link later cannot silence us.
 * Undefined when there is no route, the source address is the wildcard, or it is on more than
 * one interface (then the system's choice stays).
 */
export async function routeInterface(
  group: string,
  interfaces: readonly NetInterface[],
  probe: (group: string) => Promise<string | undefined> = probeSourceAddress,
): Promise<TransportInterface | undefined> {
  const address = await probe(group).catch(() => undefined);
  if (!address || address === "0.0.0.0" || address === "::") return undefined;
  const family = isIPv6(group) ? "IPv6" : "IPv4";
  const names = new Set(
    interfaces.filter((i) => i.family === family && i.address === address).map((i) => i.name),
  );
  if (names.size !== 1) return undefined;
  const i = interfaces.find((x) => x.family === family && x.address === address);
  if (!i) return undefined;
  const out: TransportInterface = { name: i.name, address: i.address };
  if (i.index !== undefined) out.index = i.index;
  return out;
}
