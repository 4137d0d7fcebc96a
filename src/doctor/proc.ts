/**
 * Parsers for the Linux files doctor reads (pure: text in, values out). Every parser
 * skips lines it cannot read instead of throwing: a kernel with an extra column or a
 * truncated read gives fewer entries, never a crash.
 */

/** IFF_* bits of /sys/class/net/<if>/flags (linux/if.h). */
export const IFF = { UP: 0x1, LOOPBACK: 0x8, RUNNING: 0x40, MULTICAST: 0x1000 } as const;

/** RTF_* bits of the routing tables (linux/route.h, linux/ipv6_route.h). */
const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
const RTF_REJECT = 0x200;

export type Endianness = "LE" | "BE";

/**
 * An IPv4 address as the kernel prints a __be32 with %08X: the in-memory bytes read as
 * a host integer, so on a little-endian host "010000E0" is 224.0.0.1.
 */
export function hexToIPv4(hex: string, endianness: Endianness = "LE"): string | undefined {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return undefined;
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return (endianness === "LE" ? bytes.reverse() : bytes).join(".");
}

/** 32 hex digits (network order, as /proc/net/ipv6_route and igmp6 print them) → compressed IPv6. */
export function hexToIPv6(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const words = Array.from({ length: 8 }, (_, i) =>
    Number.parseInt(hex.slice(i * 4, i * 4 + 4), 16).toString(16),
  );
  // The longest run (2 or more) of zero words becomes "::" (RFC 5952).
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return words.join(":");
  const head = words.slice(0, best.at).join(":");
  const tail = words.slice(best.at + best.len).join(":");
  return `${head}::${tail}`;
}

/** IPv4 dotted → u32, or undefined. */
export function ipv4ToInt(addr: string): number | undefined {
  const parts = addr.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** IPv6 text (no zone) → 16 bytes, or undefined. Handles "::" and a trailing dotted quad. */
export function ipv6ToBytes(addr: string): Uint8Array | undefined {
  let text = addr.split("%")[0] ?? "";
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToInt(v4[1] as string);
    if (n === undefined) return undefined;
    text = `${text.slice(0, v4.index)}${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const head = split(halves[0] ?? "");
  const tail = halves.length === 2 ? split(halves[1] ?? "") : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const words = [...head, ...Array<string>(Math.max(0, fill)).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = words[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
    const n = Number.parseInt(w, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  return out;
}

/** One route, IPv4 or IPv6, reduced to what a lookup needs. */
export interface Route {
  /** "224.0.0.0/4", "ff00::/8", "0.0.0.0/0" … */
  prefix: string;
  prefixLength: number;
  /** Gateway address, when the route goes through one. */
  gateway?: string;
  dev: string;
  metric: number;
  /** The destination's bits, for matching. */
  match: (addr: string) => boolean;
}

function maskBits(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function prefixLengthOf(mask: number): number | undefined {
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  return maskBits(len) === mask ? len : undefined;
}

/** /proc/net/route: the main IPv4 table (Iface Destination Gateway Flags … Metric Mask …). */
export function parseRoute4(text: string, endianness: Endianness = "LE"): Route[] {
  const out: Route[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, dstHex, gwHex, flagsHex, , , metricText, maskHex] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const flags = Number.parseInt(flagsHex, 16);
    if (!(flags & RTF_UP) || flags & RTF_REJECT) continue;
    const dst = hexToIPv4(dstHex, endianness);
    const mask = hexToIPv4(maskHex, endianness);
    const gw = hexToIPv4(gwHex, endianness);
    if (!dst || !mask || !gw) continue;
    const maskInt = ipv4ToInt(mask) as number;
    const len = prefixLengthOf(maskInt);
    if (len === undefined) continue;
    const net = ((ipv4ToInt(dst) as number) & maskInt) >>> 0;
    out.push({
      prefix: `${dst}/${len}`,
      prefixLength: len,
      gateway: flags & RTF_GATEWAY && gw !== "0.0.0.0" ? gw : undefined,
      dev,
      metric: Number(metricText) || 0,
      match: (addr) => {
        const a = ipv4ToInt(addr);
        return a !== undefined && (a & maskInt) >>> 0 === net;
      },
    });
  }
  return out;
}

/**
 * /proc/net/ipv6_route: every table (dest plen src srcplen nexthop metric refcnt use flags
 * dev). Reject routes (unreachable, prohibit: the "lo" entries of an empty table) are left out.
 */
export function parseRoute6(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dstHex, plenHex, , , hopHex, metricHex, , , flagsHex, dev] = f as string[];
    const flags = Number.parseInt(flagsHex as string, 16);
    const dst = hexToIPv6(dstHex as string);
    const hop = hexToIPv6(hopHex as string);
    const len = Number.parseInt(plenHex as string, 16);
    if (!dst || !hop || !dev || !Number.isInteger(len) || len > 128) continue;
    if (!(flags & RTF_UP) || flags & RTF_REJECT) continue;
    const dstBytes = ipv6ToBytes(dst) as Uint8Array;
    out.push({
      prefix: `${dst}/${len}`,
      prefixLength: len,
      gateway: flags & RTF_GATEWAY && hop !== "::" ? hop : undefined,
      dev,
      metric: Number.parseInt(metricHex as string, 16) >>> 0,
      match: (addr) => {
        const a = ipv6ToBytes(addr);
        if (!a) return false;
        for (let bit = 0; bit < len; bit++) {
          const byte = bit >> 3;
          const m = 0x80 >> (bit & 7);
          if (((a[byte] as number) & m) !== ((dstBytes[byte] as number) & m)) return false;
        }
        return true;
      },
    });
  }
  return out;
}

/**
 * The route a datagram to `addr` takes: the longest matching prefix, then the lowest
 * metric (policy rules and other tables are not consulted). Ties keep every candidate
 * of that prefix and metric, first the kernel's order.
 */
export function lookupRoute(
  routes: readonly Route[],
  addr: string,
): { route: Route; ties: Route[] } | undefined {
  let best: Route[] = [];
  for (const r of routes) {
    if (!r.match(addr)) continue;
    const b = best[0];
    if (
      !b ||
      r.prefixLength > b.prefixLength ||
      (r.prefixLength === b.prefixLength && r.metric < b.metric)
    ) {
      best = [r];
    } else if (r.prefixLength === b.prefixLength && r.metric === b.metric) {
      best.push(r);
    }
  }
  const route = best[0];
  return route ? { route, ties: best.slice(1) } : undefined;
}

/** One group membership of an interface. */
export interface Membership {
  dev: string;
  index: number;
  group: string;
  users: number;
  /** IPv4: the IGMP version the interface speaks (1, 2 or 3: the oldest querier heard). */
  igmpVersion?: number;
}

/**
 * /proc/net/igmp: per interface a header line ("2\teth0      :     1      V3"), then one
 * indented line per group ("\t\t\t\t010000E0     1 0:00000000\t\t0").
 */
export function parseIgmp(text: string, endianness: Endianness = "LE"): Membership[] {
  const out: Membership[] = [];
  let dev: { name: string; index: number; version?: number } | undefined;
  for (const line of text.split("\n").slice(1)) {
    const head = /^(\d+)\s+(\S+?)\s*:\s*\d+\s+V(\d)/.exec(line) ?? /^(\d+)\s+(\S+?)\s*:/.exec(line);
    if (head) {
      dev = { index: Number(head[1]), name: head[2] as string };
      if (head[3]) dev.version = Number(head[3]);
      continue;
    }
    const g = /^\s+([0-9A-Fa-f]{8})\s+(\d+)/.exec(line);
    const group = g && hexToIPv4(g[1] as string, endianness);
    if (dev && g && group) {
      const m: Membership = { dev: dev.name, index: dev.index, group, users: Number(g[2]) };
      if (dev.version !== undefined) m.igmpVersion = dev.version;
      out.push(m);
    }
  }
  return out;
}

/** /proc/net/igmp6: "4    eth0            ff020000000000000000000000000001     1 0000000C 0". */
export function parseIgmp6(text: string): Membership[] {
  const out: Membership[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const group = hexToIPv6(f[2] as string);
    if (!group || !/^\d+$/.test(f[0] as string)) continue;
    out.push({ index: Number(f[0]), dev: f[1] as string, group, users: Number(f[3]) || 0 });
  }
  return out;
}

/** Interface names from /proc/net/dev (two header lines, then "  eth0: 123 …"). */
export function parseNetDev(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n").slice(2)) {
    const m = /^\s*([^:\s]+):/.exec(line);
    if (m) out.push(m[1] as string);
  }
  return out;
}

/** "0x1003" (or "4099") → number, or undefined. */
export function parseFlags(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  const n = t.startsWith("0x") ? Number.parseInt(t.slice(2), 16) : Number(t);
  return Number.isInteger(n) ? n : undefined;
}
