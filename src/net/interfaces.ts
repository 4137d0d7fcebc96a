import os from "node:os";
import type { NetInterface } from "../config/options.ts";

/** This host's interface addresses (IPv4 and IPv6), flattened. */
export function listInterfaces(): NetInterface[] {
  const out: NetInterface[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      out.push({ name, address: a.address, family: a.family, internal: a.internal });
    }
  }
  return out;
}
