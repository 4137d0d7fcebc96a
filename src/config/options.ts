import { isIPv4, isIPv6 } from "node:net";
import { UserError } from "../errors.ts";
import { MAX_NICK_BYTES } from "../protocol/constants.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";
import { describeSource, type Passphrase } from "./passphrase.ts";

/** A local network interface address, as os.networkInterfaces() reports it. */
export interface NetInterface {
  name: string;
  address: string;
  family: "IPv4" | "IPv6";
  internal: boolean;
}

/** Options as they come from the command line and the saved config (unvalidated). */
export interface RawOptions {
  group?: unknown;
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
  /** --passphrase-file FILE (read by cli.ts into roomPassphrase). */
  passphraseFile?: unknown;
  /** --allow-plaintext: an encrypted room also shows legacy text, marked unauthenticated. */
  allowPlaintext?: unknown;
  /** The passphrase chosen for this run (passphrase.ts), with where it came from. */
  roomPassphrase?: Passphrase;
}

/** Validated, complete options. */
export interface Options {
  group: string;
  port: number;
  encoding: string;
  /** Interface to join and send on; undefined = the system's choice. */
  iface?: { name: string; address: string };
  ttl: number;
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
}

export const DEFAULTS = {
  group: "239.1.100.1",
  port: 25000,
  encoding: "utf8",
  ttl: 1,
} as const;

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

/** True for an IPv4 multicast address (224.0.0.0/4). */
export function isIPv4Multicast(addr: string): boolean {
  if (!isIPv4(addr)) return false;
  const first = Number(addr.split(".")[0]);
  return first >= 224 && first <= 239;
}

export function validateGroup(v: unknown): string {
  const g = str(v)?.trim() ?? "";
  if (isIPv4Multicast(g)) return g;
  if (isIPv6(g)) throw new UserError(`IPv6 groups are not supported yet: ${g}`);
  throw new UserError(
    `group must be an IPv4 multicast address (224.0.0.0-239.255.255.255; use 239.x.y.z on a LAN), not "${g}"`,
  );
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

/** Problem with a nickname, or undefined if it is fine. */
export function nickProblem(nick: string): string | undefined {
  if (nick.length === 0) return "nickname must not be empty";
  if (new TextEncoder().encode(nick).length > MAX_NICK_BYTES) {
    return `nickname must be at most ${MAX_NICK_BYTES} bytes of UTF-8`;
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

/**
 * Resolve an interface given by name ("eth0") or by one of its addresses to an IPv4
 * address: Bun's addMembership silently ignores interface names.
 */
export function resolveInterface(
  v: unknown,
  interfaces: readonly NetInterface[],
): { name: string; address: string } | undefined {
  const want = str(v)?.trim();
  if (!want) return undefined;
  if (isIPv4(want) || isIPv6(want)) {
    const hit = interfaces.find((i) => i.address === want);
    if (!hit) throw new UserError(`no interface of this host has the address ${want}`);
    if (hit.family !== "IPv4") throw new UserError(`interface address ${want} is not IPv4`);
    return { name: hit.name, address: hit.address };
  }
  const named = interfaces.filter((i) => i.name === want);
  if (named.length === 0) {
    const names = [...new Set(interfaces.map((i) => i.name))].join(", ");
    throw new UserError(`unknown interface "${want}" (this host has: ${names || "none"})`);
  }
  const v4 = named.find((i) => i.family === "IPv4");
  if (!v4) throw new UserError(`interface "${want}" has no IPv4 address`);
  return { name: v4.name, address: v4.address };
}

export function validateOptions(
  raw: RawOptions,
  ctx: { interfaces: readonly NetInterface[]; defaultNick: string },
): Options {
  const opts: Options = {
    group: validateGroup(raw.group ?? DEFAULTS.group),
    port: parseIntIn(raw.port ?? DEFAULTS.port, "port", 1, 65535),
    encoding: validateEncoding(raw.encoding ?? DEFAULTS.encoding),
    iface: resolveInterface(raw.interface, ctx.interfaces),
    ttl: parseIntIn(raw.ttl ?? DEFAULTS.ttl, "ttl", 0, 255),
    loopback: raw.loopback !== false,
    raw: raw.raw === true,
    legacy: validateFlag(raw.legacy, "legacy"),
    listen: raw.listen === true,
    json: raw.json === true,
    nick: validateNick(raw.nick ?? ctx.defaultNick),
    allowPlaintext: validateFlag(raw.allowPlaintext, "allow-plaintext"),
  };
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
