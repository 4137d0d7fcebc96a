import { readFileSync } from "node:fs";
import os from "node:os";
import type { NetInterface } from "../config/options.ts";

/** Linux interface flags (include/uapi/linux/if.h) in /sys/class/net/<if>/flags. */
const IFF_UP = 0x1;
const IFF_MULTICAST = 0x1000;

/** What listInterfaces reads; injected in tests. */
export interface InterfaceSources {
  /** os.networkInterfaces() */
  networkInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** The text of a file, or undefined if it cannot be read (default: fs, for /sys). */
  readFile?: (path: string) => string | undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** /sys/class/net/<name>/{flags,ifindex} where they exist (Linux). */
function sysInfo(
  name: string,
  read: (path: string) => string | undefined,
): { index?: number; up?: boolean; multicast?: boolean } {
  // A name from the OS, but never let it walk out of /sys/class/net.
  if (!/^[^/\0]+$/.test(name) || name === "." || name === "..") return {};
  const out: { index?: number; up?: boolean; multicast?: boolean } = {};
  const flags = read(`/sys/class/net/${name}/flags`)?.trim();
  if (flags && /^0x[0-9a-f]+$/i.test(flags)) {
    const n = Number.parseInt(flags.slice(2), 16);
    out.up = (n & IFF_UP) !== 0;
    out.multicast = (n & IFF_MULTICAST) !== 0;
  }
  const index = read(`/sys/class/net/${name}/ifindex`)?.trim();
  if (index && /^\d+$/.test(index)) out.index = Number(index);
  return out;
}

/**
 * This host's interface addresses (IPv4 and IPv6), flattened, with the interface's index
 * and its UP and MULTICAST flags where known: from /sys/class/net on Linux; elsewhere the
 * index is the scope id of the interface's link-local IPv6 address (Windows and macOS
 * number scope ids by interface), and the flags are unknown.
 */
export function listInterfaces(sources: InterfaceSources = {}): NetInterface[] {
  const list = sources.networkInterfaces ?? os.networkInterfaces;
  const read = sources.readFile ?? readText;
  const out: NetInterface[] = [];
  for (const [name, addrs] of Object.entries(list())) {
    if (!addrs || addrs.length === 0) continue;
    const sys = sysInfo(name, read);
    const scope = addrs.find((a) => a.family === "IPv6" && a.scopeid)?.scopeid;
    const index = sys.index ?? scope;
    for (const a of addrs) {
      const i: NetInterface = {
        name,
        address: a.address,
        family: a.family,
        internal: a.internal,
      };
      if (index !== undefined) i.index = index;
      if (sys.up !== undefined) i.up = sys.up;
      if (sys.multicast !== undefined) i.multicast = sys.multicast;
      out.push(i);
    }
  }
  return out;
}
