import { describe, expect, test } from "bun:test";
import {
  isIPv4Multicast,
  type NetInterface,
  nickProblem,
  MAX_NICK_BYTES as OPTIONS_MAX_NICK_BYTES,
  parseIntIn,
  resolveInterface,
  validateOptions,
} from "../../src/config/options.ts";
import { UserError } from "../../src/errors.ts";
import { MAX_NICK_BYTES } from "../../src/protocol/constants.ts";

const IFS: NetInterface[] = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  { name: "eth0", address: "198.18.0.2", family: "IPv4", internal: false },
  { name: "eth0", address: "fe80::1", family: "IPv6", internal: false },
  { name: "v6only", address: "fe80::2", family: "IPv6", internal: false },
];
const ctx = { interfaces: IFS, defaultNick: "alice" };

function usageError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    expect((e as UserError).message).not.toContain("\n");
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("--legacy", () => {
  test("off by default, on as a flag or from the saved config", () => {
    expect(validateOptions({}, ctx).legacy).toBe(false);
    expect(validateOptions({ legacy: true }, ctx).legacy).toBe(true);
    expect(validateOptions({ legacy: false }, ctx).legacy).toBe(false);
  });
  test("a value is a usage error", () => {
    expect(usageError(() => validateOptions({ legacy: "yes" }, ctx)).message).toContain(
      "legacy is an on/off option",
    );
    usageError(() => validateOptions({ legacy: 1 }, ctx));
  });
});

describe("the nick limit is the wire's", () => {
  test("MAX_NICK_BYTES bytes of UTF-8, not characters", () => {
    expect(OPTIONS_MAX_NICK_BYTES).toBe(MAX_NICK_BYTES);
    expect(nickProblem("x".repeat(MAX_NICK_BYTES))).toBeUndefined();
    expect(nickProblem("x".repeat(MAX_NICK_BYTES + 1))).toContain(`${MAX_NICK_BYTES} bytes`);
    expect(nickProblem("张".repeat(10))).toBeUndefined(); // 30 bytes
    expect(nickProblem("张".repeat(11))).toBeDefined(); // 33 bytes, 11 characters
  });
});

describe("validateOptions", () => {
  test("defaults", () => {
    const o = validateOptions({}, ctx);
    expect(o).toMatchObject({
      group: "239.1.100.1",
      port: 25000,
      encoding: "utf8",
      ttl: 1,
      loopback: true,
      raw: false,
      listen: false,
      json: false,
      nick: "alice",
    });
    expect(o.ifaces).toEqual([]);
    expect(o.sendIface).toBeUndefined();
    expect(o.count).toBeUndefined();
  });

  test("accepts strings and numbers as cac gives them", () => {
    const o = validateOptions(
      { group: "239.9.9.9", port: "4000", ttl: 0, encoding: "GBK", count: "3", timeout: "1.5" },
      ctx,
    );
    expect(o).toMatchObject({ group: "239.9.9.9", port: 4000, ttl: 0, encoding: "gbk", count: 3 });
    expect(o.timeoutSeconds).toBe(1.5);
  });

  test.each([
    [{ group: "10.0.0.1" }, /multicast/],
    [{ group: "240.0.0.1" }, /multicast/],
    [{ group: "nonsense" }, /multicast/],
    [{ port: 0 }, /port/],
    [{ port: 65536 }, /port/],
    [{ port: "12x" }, /port/],
    [{ port: -1 }, /port/],
    [{ ttl: 256 }, /ttl/],
    [{ ttl: 300 }, /ttl/],
    [{ encoding: "nosuch" }, /unknown encoding/],
    [{ interface: "nosuch0" }, /unknown interface/],
    [{ interface: "203.0.113.9" }, /no interface/],
    [{ interface: "v6only" }, /no IPv4/],
    [{ count: 0 }, /count/],
    [{ timeout: "soon" }, /timeout/],
    [{ timeout: 0 }, /timeout/],
    [{ nick: "" }, /empty/],
    [{ nick: "a".repeat(33) }, /32 bytes/],
    [{ nick: "bad\u001bnick" }, /control/],
  ])("rejects %o", (raw, pattern) => {
    expect(usageError(() => validateOptions(raw, ctx)).message).toMatch(pattern);
  });

  test("--no-loopback and flags", () => {
    const o = validateOptions({ loopback: false, raw: true, listen: true, json: true }, ctx);
    expect(o).toMatchObject({ loopback: false, raw: true, listen: true, json: true });
  });
});

describe("resolveInterface", () => {
  test("by name gives the IPv4 address (addMembership ignores names)", () => {
    expect(resolveInterface("eth0", IFS)).toEqual({ name: "eth0", address: "198.18.0.2" });
  });
  test("by address", () => {
    expect(resolveInterface("127.0.0.1", IFS)).toEqual({ name: "lo", address: "127.0.0.1" });
  });
  test("none given", () => {
    expect(resolveInterface(undefined, IFS)).toBeUndefined();
  });
});

test("isIPv4Multicast bounds", () => {
  expect(isIPv4Multicast("224.0.0.0")).toBe(true);
  expect(isIPv4Multicast("239.255.255.255")).toBe(true);
  expect(isIPv4Multicast("223.255.255.255")).toBe(false);
  expect(isIPv4Multicast("240.0.0.0")).toBe(false);
  expect(isIPv4Multicast("239.1.100")).toBe(false);
});

test("parseIntIn keeps leading zeros as decimal and rejects fractions", () => {
  expect(parseIntIn("007", "n", 0, 10)).toBe(7);
  expect(() => parseIntIn("1.5", "n", 0, 10)).toThrow(UserError);
});

test("nickProblem", () => {
  expect(nickProblem("张三")).toBeUndefined();
  expect(nickProblem("a b")).toMatch(/spaces/);
  expect(nickProblem("x\u202ey")).toMatch(/control/);
  expect(nickProblem("张".repeat(11))).toMatch(/32 bytes/); // 33 bytes of UTF-8
});
