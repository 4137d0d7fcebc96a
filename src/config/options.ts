import { isIPv4, isIPv6 } from "node:net";
import { UserError } from "../errors.ts";
import { MAX_NICK_BYTES } from "../protocol/constants.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";
import { describeSource, type Passphrase } from "./passphrase.ts";

/** A local network interface address, as os.networkInterfaces() reports it (net/interfaces.ts). */
export interface NetInterface {
  name: string;
  address: string;
  family: "IPv4" | "IPv6";
  internal: boolean;
  /** The interface's index (Windows names IPv6 interfaces by it); undefined = not known. */
  index?: number;
  /** The interface has the MULTICAST flag; undefined = not known (not Linux). */
  multicast?: boolean;
  /** The interface is up; undefined = not known. */
  up?: boolean;
}

/** An interface to join or send on: its name, its address in the group's family, its index. */
export interface Iface {
  name: string;
  address: string;
  index?: number;
}

/** Options as they come from the command line and the saved config (unvalidated). */
export interface RawOptions {
  group?: unknown;
  /** --source ADDR (source-specific multicast). */
  source?: unknown;
  port?: unknown;
  encoding?: unknown;
  interface?: unknown;
  ttl?: unknown;
  loopback?: unknown;
  raw?: unknown;
  legacy?: unknown;
  listen?: unknown;
  json?: unknown;
  count?: unknown;
  timeout?: unknown;
  nick?: unknown;
  yes?: unknown;
  history?: unknown;
  stats?: unknown;
  heartbeat?: unknown;
  /** --no-paste-confirm: a multi-line paste in the chat room is sent without asking. */
  pasteConfirm?: unknown;
  /** --passphrase-file FILE (read by cli.ts into roomPassphrase). */
  passphraseFile?: unknown;
  /** --allow-plaintext: an encrypted room also shows legacy text, marked unauthenticated. */
  allowPlaintext?: unknown;
  /** --no-bell (or `"bell": false` in the config): no BEL when a line mentions our nick. */
  bell?: unknown;
  /** The passphrase chosen for this run (passphrase.ts), with where it came from. */
  roomPassphrase?: Passphrase;
}

/** Validated, complete options. */
export interface Options {
  /** Canonical text: IPv4 dotted, IPv6 lowercase and compressed (the room key's salt uses it). */
  group: string;
  family: "IPv4" | "IPv6";
  /** --source: source-specific multicast, only this sender is heard (canonical, the group's family). */
  source?: string;
  port: number;
  encoding: string;
  /** Interfaces to join on; [] = the system's choice. `-i` may repeat; `-i all` = every one. */
  ifaces: Iface[];
  /** Interface to send on (the first of `ifaces`); undefined = the system's choice. */
  sendIface?: Iface;
  /** 0..255 as given; 0 = this host only (TTL 1 on the wire, see hostOnly). */
  ttl: number;
  /**
   * TTL 0: the room stays on this host. IPv4: joined and sent on the loopback interface.
   * IPv6 (Linux does not loop IPv6 multicast through lo): an interface-local group
   * (ff01::/16), which the kernel loops back and never transmits, on a real interface.
   */
  hostOnly: boolean;
  loopback: boolean;
  raw: boolean;
  /** The room has classic (legacy) programs: also send our messages to them as plain text. */
  legacy: boolean;
  listen: boolean;
  json: boolean;
  count?: number;
  timeoutSeconds?: number;
  nick: string;
  /** Set: a private (encrypted) room. */
  passphrase?: Passphrase;
  /** Encrypted room: also show legacy text, marked unauthenticated. */
  allowPlaintext: boolean;
  /** Ring the terminal bell when a line mentions our nick. */
  bell: boolean;
}

export const DEFAULTS = {
  group: "239.1.100.1",
  port: 25000,
  /** UTF-8 or GBK as heard (text-codec "auto"; copy-encoding.ts): an explicit -e wins. */
  encoding: "auto",
  ttl: 1,
} as const;

/**
 * The options a run starts from: the flags given over the saved config. --ttl 0 given
 * without --interface keeps the room on this host, so a saved interface does not apply.
 */
export function withSaved(saved: RawOptions, flags: RawOptions): RawOptions {
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const raw: RawOptions = { ...saved, ...given };
  if (flags.interface === undefined && String(flags.ttl).trim() === "0") delete raw.interface;
  return raw;
}

export { MAX_NICK_BYTES };

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (Array.isArray(v)) return str(v[v.length - 1]);
  return String(v);
}

/** A whole number in [min, max] from a string or number, or a UserError naming the option. */
export function parseIntIn(v: unknown, name: string, min: number, max: number): number {
  const s = str(v);
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) {
    throw new UserError(`${name} must be a whole number from ${min} to ${max}, not "${s ?? ""}"`);
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UserError(`${name} must be from ${min} to ${max}, not ${s.trim()}`);
  }
  return n;
}

/** Highest UDP port; a framed room needs port + 1 as its companion (PROTOCOL.md "Ports"). */
export const MAX_PORT = 65535;

/**
 * Why `port` cannot carry a room, or undefined: the one rule the command line, the
 * transport and the setup wizard share. A framed (non --raw) room also binds port + 1.
 */
export function roomPortProblem(port: number, raw: boolean): string | undefined {
  if (!raw && port >= MAX_PORT) {
    return `port ${port}: a framed room also uses port ${port + 1}, which does not exist; use --raw or a lower port`;
  }
  return undefined;
}

/** The port (1..65535) for a room, framed unless `raw`, or a UserError. */
export function validatePort(v: unknown, raw: boolean): number {
  const port = parseIntIn(v, "port", 1, MAX_PORT);
  const problem = roomPortProblem(port, raw);
  if (problem) throw new UserError(problem);
  return port;
}

/**
 * What is wrong with using `group` (canonical text) as a chat room, or undefined: groups
 * with a fixed meaning that every host (or router) of the link already listens to.
 * A warning, not a refusal: the room works, but it talks over traffic it was not made for.
 */
export function reservedGroupWarning(group: string): string | undefined {
  if (isIPv4(group)) {
    const [a, b, c] = group.split(".").map(Number);
    if (a !== 224 || b !== 0 || (c !== 0 && c !== 1)) return undefined;
    const what =
      group === "224.0.0.1"
        ? "the all-hosts group: every host on the link receives it"
        : c === 0
          ? "in 224.0.0.0/24, the link-local control block (routing protocols, mDNS…)"
          : "in 224.0.1.0/24, the internetwork control block (NTP, SLP…)";
    return `group ${group} is reserved (${what}); use a 239.x.y.z group for a room`;
  }
  const c = canonicalIPv6(group);
  if (!c) return undefined;
  const h = hextets(c);
  // Permanent (flag 0) groups: ff0X::/16 with a small group ID (all-nodes, all-routers,
  // mDNS, DHCP…) and the solicited-node groups ff02::1:ffXX:XXXX.
  if (((h[0] ?? 0) & 0xfff0) !== 0xff00) return undefined;
  const zero = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  const wellKnown = zero(1, 7); // group ID below 0x10000: ff02::1, ff02::2, ff02::fb…
  const dhcp = zero(1, 6) && h[6] === 1 && (h[7] === 2 || h[7] === 3);
  const solicitedNode = zero(1, 5) && h[5] === 1 && ((h[6] ?? 0) & 0xff00) === 0xff00;
  if (!wellKnown && !dhcp && !solicitedNode) return undefined;
  const what =
    wellKnown && h[7] === 1 ? "all nodes: every host receives it" : "a well-known IANA group";
  return `group ${group} is reserved (${what}); use an ff15:: group (site) or ff18:: for a room`;
}

/** True for an IPv4 multicast address (224.0.0.0/4). */
export function isIPv4Multicast(addr: string): boolean {
  if (!isIPv4(addr)) return false;
  const first = Number(addr.split(".")[0]);
  return first >= 224 && first <= 239;
}

/** An IPv6 address in its canonical text (lowercase, compressed, RFC 5952), or undefined. */
export function canonicalIPv6(text: string): string | undefined {
  if (!isIPv6(text) || text.includes("%")) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** The eight 16-bit groups of a valid IPv6 address. */
function hextets(addr: string): number[] {
  const [head = "", tail] = addr.split("::");
  const part = (t: string) => (t === "" ? [] : t.split(":").map((h) => Number.parseInt(h, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

/** True for an IPv6 multicast address (ff00::/8). */
export function isIPv6Multicast(addr: string): boolean {
  const c = canonicalIPv6(addr);
  return c !== undefined && ((hextets(c)[0] ?? 0) & 0xff00) === 0xff00;
}

/** True for a source-specific multicast group: 232.0.0.0/8 or ff3x::/32. */
export function isSourceSpecificGroup(group: string): boolean {
  if (isIPv4(group)) return group.startsWith("232.");
  const c = canonicalIPv6(group);
  if (!c) return false;
  const [first = 0, second = 0] = hextets(c);
  return (first & 0xfff0) === 0xff30 && second === 0;
}

/** True for an interface-local IPv6 group (scope 1: ff01::/16, ff11::/16, ff31::/16 …). */
export function isInterfaceLocalGroup(group: string): boolean {
  const c = canonicalIPv6(group);
  return c !== undefined && ((hextets(c)[0] ?? 0) & 0xff0f) === 0xff01;
}

/** A multicast group in canonical text with its family, or a UserError. */
export function parseGroup(v: unknown): { group: string; family: "IPv4" | "IPv6" } {
  const g = str(v)?.trim() ?? "";
  if (isIPv4Multicast(g)) return { group: g, family: "IPv4" };
  const v6 = canonicalIPv6(g);
  if (v6 && isIPv6Multicast(v6)) return { group: v6, family: "IPv6" };
  if (g.includes("%") && isIPv6(g)) {
    throw new UserError(
      `group ${g}: give the interface with --interface, not as a scope (%…) in the group`,
    );
  }
  throw new UserError(
    `group must be a multicast address: IPv4 224.0.0.0-239.255.255.255 (use 239.x.y.z on a LAN) or IPv6 ff00::/8 (e.g. ff15::1), not "${g}"`,
  );
}

/** The group in canonical text (IPv6 lowercase and compressed), or a UserError. */
export function validateGroup(v: unknown): string {
  return parseGroup(v).group;
}

/** --source: a unicast address of the group's family, in canonical text. */
export function validateSource(v: unknown, group: string, family: "IPv4" | "IPv6"): string {
  const s = str(v)?.trim() ?? "";
  const canonical = isIPv4(s) ? s : canonicalIPv6(s);
  if (!canonical) {
    throw new UserError(`--source must be the IP address of the sender to hear, not "${s}"`);
  }
  const fam = isIPv4(canonical) ? "IPv4" : "IPv6";
  if (fam !== family) {
    throw new UserError(`--source ${s} is an ${fam} address, but the group ${group} is ${family}`);
  }
  if (isIPv4Multicast(canonical) || isIPv6Multicast(canonical)) {
    throw new UserError(`--source must be the sender's unicast address, not a group: ${s}`);
  }
  if (canonical === "0.0.0.0" || canonical === "::" || /^(0|24\d|25\d)\./.test(canonical)) {
    throw new UserError(`--source must be the sender's unicast address, not ${s}`);
  }
  return canonical;
}

export function validateEncoding(v: unknown): string {
  const e = str(v)?.trim() ?? "";
  const n = normalizeEncoding(e);
  if (!n)
    throw new UserError(
      `unknown encoding "${e}" (try utf8, gbk, gb18030, big5, shift_jis, euc-kr)`,
    );
  return n;
}

/**
 * The nick limit in words a user can count: bytes of UTF-8, so 32 Latin letters but only 10
 * CJK characters (3 bytes each) or 8 emoji (4 bytes).
 */
export const NICK_LIMIT_TEXT = `${MAX_NICK_BYTES} bytes of UTF-8 (${MAX_NICK_BYTES} Latin letters, ${Math.floor(MAX_NICK_BYTES / 3)} CJK characters)`;

/** Problem with a nickname, or undefined if it is fine. */
export function nickProblem(nick: string): string | undefined {
  if (nick.length === 0) return "nickname must not be empty";
  const bytes = new TextEncoder().encode(nick).length;
  if (bytes > MAX_NICK_BYTES) {
    return `nickname must be at most ${NICK_LIMIT_TEXT}; this one is ${bytes} bytes`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s]/u.test(nick)) {
    return "nickname must not contain spaces or control characters";
  }
  return undefined;
}

/** An on/off option (a flag, or a saved true/false); absent = false. */
export function validateFlag(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  throw new UserError(`${name} is an on/off option and takes no value, not "${String(v)}"`);
}

export function validateNick(v: unknown): string {
  const nick = str(v) ?? "";
  const problem = nickProblem(nick);
  if (problem) throw new UserError(`${problem}: "${nick}"`);
  return nick;
}

type Family = "IPv4" | "IPv6";

const isLinkLocal = (addr: string) => /^fe[89ab]/i.test(addr);

/** The Iface of `name` in `family`: IPv4, or an IPv6 address preferring a global/ULA one. */
function ifaceOf(
  name: string,
  family: Family,
  interfaces: readonly NetInterface[],
): Iface | undefined {
  const mine = interfaces.filter((i) => i.name === name && i.family === family);
  const pick = mine.find((i) => !isLinkLocal(i.address)) ?? mine[0];
  if (!pick) return undefined;
  const index = interfaces.find((i) => i.name === name && i.index !== undefined)?.index;
  return index === undefined
    ? { name, address: pick.address }
    : { name, address: pick.address, index };
}

/** Every up, multicast-capable, non-loopback interface with an address in `family`, by name. */
export function multicastInterfaces(interfaces: readonly NetInterface[], family: Family): Iface[] {
  const names = new Set(
    interfaces
      .filter((i) => i.family === family && !i.internal && i.up !== false && i.multicast !== false)
      .map((i) => i.name),
  );
  return [...names]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => ifaceOf(n, family, interfaces) as Iface);
}

/** The raw --interface values: a string, repeated (an array), comma lists; empty ones dropped. */
function interfaceValues(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  const list = Array.isArray(v) ? v : [v];
  return list
    .flatMap((x) => String(x).split(","))
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

/**
 * One interface given by name ("eth0") or by one of its addresses, as the address in
 * `family` to join and send with: Bun's addMembership silently ignores interface names.
 */
export function resolveInterface(
  v: unknown,
  interfaces: readonly NetInterface[],
  family: Family = "IPv4",
): Iface | undefined {
  const want = str(v)?.trim();
  if (!want) return undefined;
  const [addrPart = "", zone] = want.split("%");
  const asAddress = isIPv4(addrPart) ? addrPart : canonicalIPv6(addrPart);
  if (asAddress) {
    const hit = interfaces.find(
      (i) =>
        (i.address === asAddress || canonicalIPv6(i.address) === asAddress) &&
        (zone === undefined || i.name === zone || String(i.index) === zone),
    );
    if (!hit) throw new UserError(`no interface of this host has the address ${want}`);
    if (hit.family !== family) {
      throw new UserError(
        `interface address ${want} is ${hit.family}, but the group is ${family}: give an ${family} address or the interface's name (${hit.name})`,
      );
    }
    const iface = ifaceOf(hit.name, family, interfaces) as Iface;
    return { ...iface, address: hit.address };
  }
  if (!interfaces.some((i) => i.name === want)) {
    const names = [...new Set(interfaces.map((i) => i.name))].join(", ");
    throw new UserError(`unknown interface "${want}" (this host has: ${names || "none"})`);
  }
  const iface = ifaceOf(want, family, interfaces);
  if (!iface) throw new UserError(`interface "${want}" has no ${family} address`);
  return iface;
}

/**
 * The interfaces to join (the first is the sending one) for the --interface values:
 * names, addresses, or `all` (every multicast interface, by name). Repeats are joined once.
 */
export function resolveInterfaces(
  v: unknown,
  interfaces: readonly NetInterface[],
  family: Family,
): Iface[] {
  const out: Iface[] = [];
  const add = (i: Iface) => {
    if (!out.some((o) => o.name === i.name)) out.push(i);
  };
  for (const value of interfaceValues(v)) {
    if (value.toLowerCase() === "all") {
      const every = multicastInterfaces(interfaces, family);
      if (every.length === 0) {
        throw new UserError(
          `--interface all: no up, multicast-capable interface has an ${family} address (see mcchat doctor)`,
        );
      }
      every.forEach(add);
    } else {
      add(resolveInterface(value, interfaces, family) as Iface);
    }
  }
  return out;
}

/** TTL 0's interfaces: the loopback (IPv4), or an interface to loop ff01:: through (IPv6). */
function hostOnlyInterfaces(
  group: string,
  family: Family,
  chosen: Iface[],
  interfaces: readonly NetInterface[],
): Iface[] {
  if (family === "IPv6") {
    if (!isInterfaceLocalGroup(group)) {
      throw new UserError(
        `--ttl 0 (this host only) with an IPv6 group needs an interface-local group (ff01::/16), not ${group}: IPv6 multicast cannot be kept on the loopback`,
      );
    }
    // lo carries no IPv6 multicast (Linux): only loopbacks chosen (or none) = pick a carrier.
    const loopbacks = new Set(interfaces.filter((i) => i.internal).map((i) => i.name));
    if (chosen.some((c) => !loopbacks.has(c.name) && c.name !== "lo")) return chosen;
    const carrier =
      multicastInterfaces(interfaces, "IPv6")[0] ??
      [...new Set(interfaces.filter((i) => i.family === "IPv6" && !i.internal).map((i) => i.name))]
        .sort()
        .map((n) => ifaceOf(n, "IPv6", interfaces) as Iface)[0];
    if (!carrier) {
      throw new UserError(
        `group ${group} (this host only) needs a network interface with an IPv6 address; this host has none besides the loopback`,
        1,
      );
    }
    return [carrier];
  }
  const loopbacks = interfaces.filter((i) => i.internal && i.family === "IPv4");
  const stray = chosen.find((c) => !loopbacks.some((l) => l.name === c.name));
  if (stray) {
    throw new UserError(
      `--ttl 0 keeps the room on this host (the loopback interface): drop --interface ${stray.name}, or use --ttl 1 or more`,
    );
  }
  const lo = loopbacks.find((i) => i.address === "127.0.0.1") ?? loopbacks[0];
  if (!lo) return [{ name: "lo", address: "127.0.0.1" }];
  return [ifaceOf(lo.name, "IPv4", interfaces) as Iface];
}

export function validateOptions(
  raw: RawOptions,
  ctx: { interfaces: readonly NetInterface[]; defaultNick: string },
): Options {
  const { group, family } = parseGroup(raw.group ?? DEFAULTS.group);
  const ttl = parseIntIn(raw.ttl ?? DEFAULTS.ttl, "ttl", 0, 255);
  const hostOnly = ttl === 0;
  if (!hostOnly && isInterfaceLocalGroup(group)) {
    throw new UserError(
      `group ${group} is interface-local (ff01::/16): it never leaves this host; use it with --ttl 0, or a group such as ff15::…`,
    );
  }
  let source: string | undefined;
  if (raw.source !== undefined && raw.source !== null && raw.source !== false) {
    source = validateSource(raw.source, group, family);
  } else if (isSourceSpecificGroup(group)) {
    throw new UserError(`group ${group} is a source-specific group: pass --source ADDR`);
  }
  let ifaces = resolveInterfaces(raw.interface, ctx.interfaces, family);
  if (hostOnly) ifaces = hostOnlyInterfaces(group, family, ifaces, ctx.interfaces);
  const opts: Options = {
    group,
    family,
    port: validatePort(raw.port ?? DEFAULTS.port, raw.raw === true),
    encoding: validateEncoding(raw.encoding ?? DEFAULTS.encoding),
    ifaces,
    ttl,
    hostOnly,
    loopback: raw.loopback !== false,
    raw: raw.raw === true,
    legacy: validateFlag(raw.legacy, "legacy"),
    listen: raw.listen === true,
    json: raw.json === true,
    nick: validateNick(raw.nick ?? ctx.defaultNick),
    allowPlaintext: validateFlag(raw.allowPlaintext, "allow-plaintext"),
    bell: raw.bell !== false,
  };
  if (source !== undefined) opts.source = source;
  if (ifaces[0]) opts.sendIface = ifaces[0];
  const secret = raw.roomPassphrase;
  if (secret !== undefined) {
    const from = `passphrase ${describeSource(secret.source)}`;
    if (opts.raw) throw new UserError(`--raw rooms cannot be encrypted (${from})`);
    if (opts.legacy) {
      throw new UserError(
        `an encrypted room cannot bridge to legacy programs (${from}): drop --legacy, or answer no in mcchat setup`,
      );
    }
    opts.passphrase = secret;
  } else if (opts.allowPlaintext) {
    throw new UserError(
      "--allow-plaintext is for encrypted rooms only (set MCCHAT_PASSPHRASE or --passphrase-file)",
    );
  }
  if (raw.count !== undefined) opts.count = parseIntIn(raw.count, "count", 1, 2 ** 31);
  if (raw.timeout !== undefined) {
    const s = str(raw.timeout)?.trim() ?? "";
    const t = Number(s);
    if (s === "" || !Number.isFinite(t) || t <= 0 || t > 2 ** 31 / 1000) {
      throw new UserError(`timeout must be a positive number of seconds, not "${s}"`);
    }
    opts.timeoutSeconds = t;
  }
  return opts;
}
