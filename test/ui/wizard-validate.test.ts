import { describe, expect, test } from "bun:test";
import {
  encodingProblem,
  groupProblem,
  groupWarning,
  nickInputProblem,
  portProblem,
  ttlForGroupProblem,
  ttlProblem,
} from "../../src/ui/wizard-validate.ts";

describe("groupProblem", () => {
  test.each([
    "224.0.0.1",
    "239.1.100.1",
    " 239.255.255.255 ",
    "230.1.2.3",
    "ff15::1",
    "FF05::ab",
    "ff02::1",
    "ff01::1",
  ])("accepts %p", (g) => {
    expect(groupProblem(g)).toBeUndefined();
  });
  test.each([
    "",
    undefined,
    "10.0.0.1",
    "223.255.255.255",
    "240.0.0.1",
    "239.1.1",
    "239.1.1.256",
    "x",
    "fd00::1",
    "ff15::1%eth0",
  ])("rejects %p with the ranges and the 239 hint", (g) => {
    expect(groupProblem(g)).toMatch(
      /224\.0\.0\.0 to 239\.255\.255\.255.*239\.x\.y\.z.*IPv6 ff00::\/8/,
    );
  });
  test("a source-specific group needs --source", () => {
    expect(groupProblem("232.1.1.1")).toMatch(/--source/);
    expect(groupProblem("ff3e::1")).toMatch(/--source/);
    expect(groupProblem("232.1.1.1", "198.18.0.9")).toBeUndefined();
  });
});

describe("portProblem / ttlProblem", () => {
  test.each(["1", "25000", "65534", " 80 "])("port %p ok", (p) =>
    expect(portProblem(p)).toBeUndefined(),
  );
  // A framed room also binds port + 1: 65535 only for a --raw room, with the CLI's own words.
  test("port 65535: refused for a framed room as the command line refuses it, fine with --raw", () => {
    expect(portProblem("65535")).toBe(
      "Port 65535: a framed room also uses port 65536, which does not exist; use --raw or a lower port",
    );
    expect(portProblem("65535", true)).toBeUndefined();
  });
  test.each(["0", "65536", "-1", "1.5", "", "abc", "1e3", undefined, "9999999"])(
    "port %p bad",
    (p) => expect(portProblem(p)).toBe("Port must be a whole number from 1 to 65535"),
  );
  test.each(["0", "1", "255"])("ttl %p ok", (t) => expect(ttlProblem(t)).toBeUndefined());
  test.each(["256", "-1", "", "x", "1.0"])("ttl %p bad", (t) =>
    expect(ttlProblem(t)).toBe("TTL must be a whole number from 0 to 255"),
  );
});

describe("ttlForGroupProblem", () => {
  test("TTL 0 is this host only: IPv4 or an ff01:: group", () => {
    expect(ttlForGroupProblem("0", "239.1.1.1")).toBeUndefined();
    expect(ttlForGroupProblem("0", "ff01::1")).toBeUndefined();
    expect(ttlForGroupProblem("0", "ff15::1")).toMatch(/needs an IPv4 group or an ff01:: group/);
    expect(ttlForGroupProblem("1", "ff15::1")).toBeUndefined();
    expect(ttlForGroupProblem("1", "ff01::1")).toMatch(/TTL must be 0/);
    expect(ttlForGroupProblem("256", "239.1.1.1")).toBe("TTL must be a whole number from 0 to 255");
  });
});

describe("nickInputProblem", () => {
  test("accepts up to 32 bytes of UTF-8", () => {
    expect(nickInputProblem("alice")).toBeUndefined();
    expect(nickInputProblem("a".repeat(32))).toBeUndefined();
    expect(nickInputProblem("张".repeat(10))).toBeUndefined(); // 30 bytes
  });
  test("rejects empty, too long (bytes, not chars), controls, bidi", () => {
    expect(nickInputProblem("")).toMatch(/^Nickname must not be empty/);
    expect(nickInputProblem(undefined)).toMatch(/^Nickname/);
    expect(nickInputProblem("a".repeat(33))).toMatch(/32 bytes/);
    expect(nickInputProblem("张".repeat(11))).toMatch(/32 bytes/); // 33 bytes, 11 chars
    expect(nickInputProblem("a\x1bb")).toMatch(/control/);
    expect(nickInputProblem("a\u202Eb")).toMatch(/control/);
    expect(nickInputProblem("a\x9bb")).toMatch(/control/);
  });
});

describe("encodingProblem", () => {
  test.each([
    "utf8",
    "UTF-8",
    "gbk",
    "GB18030",
    "big5",
    "shift_jis",
    "euc-kr",
    "koi8-r",
    "windows-1252",
    "auto",
  ])("accepts %p", (e) => expect(encodingProblem(e)).toBeUndefined());
  test("rejects unknown and empty", () => {
    expect(encodingProblem("klingon")).toBe('Unknown encoding "klingon"');
    expect(encodingProblem(" ")).toMatch(/Enter an encoding/);
  });
});

describe("groupWarning (options.ts reservedGroupWarning)", () => {
  test.each([
    "224.0.0.1",
    "224.0.0.251",
    "224.0.1.1",
    " ff02::1",
    "ff02::fb",
    "ff05::1:3",
    "ff02::1:ff00:1",
  ])("%p is reserved", (g) => expect(groupWarning(g)).toMatch(/^Group .* is reserved \(/));
  test("224.0.0.1 is named for what it is", () => {
    expect(groupWarning("224.0.0.1")).toBe(
      "Group 224.0.0.1 is reserved (the all-hosts group: every host on the link receives it); use a 239.x.y.z group for a room",
    );
  });
  test.each([
    "239.1.100.1",
    "224.0.2.1",
    "225.1.1.1",
    "ff15::1",
    "ff01::1:6",
    "ff12::1",
    "nonsense",
  ])("%p is not", (g) => expect(groupWarning(g)).toBeUndefined());
});
