/**
 * Pure checks for the setup wizard, clack style: a message for the user, or
 * undefined when the value is fine. The rules are options.ts's, so anything the
 * wizard accepts also passes option validation.
 */
import { isIPv6 } from "node:net";
import { isIPv4Multicast, nickProblem } from "../config/options.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";

export type Problem = string | undefined;

export function groupProblem(value: string | undefined): Problem {
  const v = (value ?? "").trim();
  if (isIPv4Multicast(v)) return undefined;
  if (isIPv6(v)) return "IPv6 groups are not supported yet: enter an IPv4 group";
  return "Enter an IPv4 multicast address, 224.0.0.0 to 239.255.255.255 (239.x.y.z is for use inside an organisation)";
}

function intProblem(value: string | undefined, what: string, min: number, max: number): Problem {
  const v = (value ?? "").trim();
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
    return `${what} must be a whole number from ${min} to ${max}`;
  }
  return undefined;
}

export const portProblem = (value: string | undefined): Problem =>
  intProblem(value, "Port", 1, 65535);

export const ttlProblem = (value: string | undefined): Problem => intProblem(value, "TTL", 0, 255);

export function nickInputProblem(value: string | undefined): Problem {
  const problem = nickProblem(value ?? "");
  return problem && problem.charAt(0).toUpperCase() + problem.slice(1);
}

export function encodingProblem(value: string | undefined): Problem {
  const v = (value ?? "").trim();
  if (v === "") return "Enter an encoding name, e.g. gbk or windows-1252";
  return normalizeEncoding(v) ? undefined : `Unknown encoding "${v}"`;
}
