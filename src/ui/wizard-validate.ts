/**
 * Pure checks for the setup wizard, clack style: a message for the user, or
 * undefined when the value is fine. The rules are options.ts's, so anything the
 * wizard accepts also passes option validation.
 */
import {
  isInterfaceLocalGroup,
  isIPv4Multicast,
  isIPv6Multicast,
  isSourceSpecificGroup,
  MAX_PORT,
  nickProblem,
  parseGroup,
  reservedGroupWarning,
  roomPortProblem,
} from "../config/options.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";

export type Problem = string | undefined;

/**
 * A multicast group, IPv4 or IPv6. A source-specific group (232/8, ff3x::/32) needs the
 * sender's address, which the wizard does not ask for: only with `source` (--source).
 */
export function groupProblem(value: string | undefined, source?: string): Problem {
  const v = (value ?? "").trim();
  if (!isIPv4Multicast(v) && !isIPv6Multicast(v)) {
    return "Enter a multicast address: IPv4 224.0.0.0 to 239.255.255.255 (239.x.y.z is for use inside an organisation) or IPv6 ff00::/8 (ff15::/16 for a site)";
  }
  if (isSourceSpecificGroup(v) && !source) {
    return "That is a source-specific group (232.x.y.z, ff3x::): start mcchat with --group and --source ADDR to use it";
  }
  return undefined;
}

/** The TTL for a group: 0 (this host only) needs IPv4 or ff01::; ff01:: needs 0. */
export function ttlForGroupProblem(value: string | undefined, group: string): Problem {
  const range = ttlProblem(value);
  if (range) return range;
  const ttl = Number((value ?? "").trim());
  const local = isInterfaceLocalGroup(group.trim());
  if (local && ttl !== 0) {
    return "An ff01:: group (interface-local) never leaves this host: TTL must be 0";
  }
  if (!local && ttl === 0 && isIPv6Multicast(group.trim())) {
    return "TTL 0 (this host only) needs an IPv4 group or an ff01:: group: IPv6 multicast cannot be kept on the loopback";
  }
  return undefined;
}

function intProblem(value: string | undefined, what: string, min: number, max: number): Problem {
  const v = (value ?? "").trim();
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
    return `${what} must be a whole number from ${min} to ${max}`;
  }
  return undefined;
}

/** The room port: 1..65535, and below 65535 unless the room is --raw (options.ts's rule). */
export function portProblem(value: string | undefined, raw = false): Problem {
  const range = intProblem(value, "Port", 1, MAX_PORT);
  if (range) return range;
  return capitalised(roomPortProblem(Number((value ?? "").trim()), raw));
}

/** A warning for a reserved group (224.0.0.1, ff02::1 …): options.ts's, as the command line says it. */
export function groupWarning(value: string | undefined): Problem {
  const v = (value ?? "").trim();
  if (groupProblem(v, "-")) return undefined;
  return capitalised(reservedGroupWarning(parseGroup(v).group));
}

const capitalised = (text: string | undefined): Problem =>
  text && text.charAt(0).toUpperCase() + text.slice(1);

export const ttlProblem = (value: string | undefined): Problem => intProblem(value, "TTL", 0, 255);

export function nickInputProblem(value: string | undefined): Problem {
  return capitalised(nickProblem(value ?? ""));
}

export function encodingProblem(value: string | undefined): Problem {
  const v = (value ?? "").trim();
  if (v === "") return "Enter an encoding name, e.g. gbk or windows-1252";
  return normalizeEncoding(v) ? undefined : `Unknown encoding "${v}"`;
}
