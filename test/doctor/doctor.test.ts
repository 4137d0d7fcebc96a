/** runDoctor end to end over a fixture host and an in-memory transport. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { RawOptions } from "../../src/config/options.ts";
import {
  type DoctorDeps,
  type DoctorTransport,
  PROBE_QUIET_MS,
  probeDelay,
  runDoctor,
} from "../../src/doctor/doctor.ts";
import { UserError } from "../../src/errors.ts";
import type { Io } from "../../src/io.ts";
import type { Datagram } from "../../src/net/transport.ts";
import { encode } from "../../src/protocol/index.ts";
import { linuxHost, otherHost, ROUTE_SUBNET_ONLY } from "./fixtures.ts";

const home = mkdtempSync(join(tmpdir(), "mcchat-doctor-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * A UTF-8 locale unless `env` says otherwise (issue 16: with no locale set at all — the POSIX
 * "C" locale — the doctor draws its arrow in ASCII, so these tests name one).
 */
function io(env: Record<string, string> = {}): Io & { out: () => string } {
  const stdout = new PassThrough();
  let text = "";
  stdout.on("data", (b) => {
    text += b.toString();
  });
  return {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1", LANG: "C.UTF-8", ...env },
    out: () => text,
  };
}

/**
 * A room where our datagrams come back (unless `deaf`) and alice and a legacy sender talk;
 * with `sealed`, an encrypted member's datagram comes first. `sent` gets the time (ms after
 * the join) of each datagram doctor sends.
 */
function fakeRoom(
  opts: { deaf?: boolean; sealed?: boolean; sent?: number[] } = {},
): DoctorDeps["openTransport"] {
  return async () => {
    const opened = performance.now();
    let handler: (d: Datagram) => void = () => {};
    const t: DoctorTransport = {
      recvBufferSize: 16 << 20,
      sendInterface: "eth0 (198.18.0.1)",
      onDatagram(h) {
        handler = h;
        queueMicrotask(() => {
          if (opts.sealed)
            handler({ data: SEALED, address: "198.18.0.4", port: 40004, channel: "framed" });
          handler({
            data: encode({
              type: "hello",
              id: "0123456789abcdef",
              seq: 0xffffffff,
              nick: "alice",
              age: 5,
            }),
            address: "198.18.0.2",
            port: 40000,
            channel: "framed",
          });
          handler({
            data: new TextEncoder().encode("hi from socat"),
            address: "198.18.0.3",
            port: 5555,
            channel: "legacy",
          });
        });
      },
      async send(data) {
        opts.sent?.push(performance.now() - opened);
        if (!opts.deaf)
          queueMicrotask(() =>
            handler({ data, address: "198.18.0.1", port: 33333, self: true, channel: "framed" }),
          );
      },
      async close() {},
    };
    return t;
  };
}

/** A sealed datagram's look (FF 4D 01 40, then salt, counter, ciphertext): an encrypted room's. */
const SEALED = Uint8Array.from([0xff, 0x4d, 0x01, 0x40, ...new Array<number>(60).fill(7)]);

const run = (flags: RawOptions, deps: DoctorDeps, env: Record<string, string> = {}) => {
  const o = io(env);
  return runDoctor({ timeout: "0.3", ...flags }, o, new AbortController().signal, deps).then(
    (code) => ({ code, out: o.out() }),
  );
};

test("a healthy host: exit 0, members and legacy senders listed", async () => {
  const { code, out } = await run({}, { platform: linuxHost(), openTransport: fakeRoom() });
  expect(code).toBe(0);
  expect(out).toContain(
    "mcchat doctor: room 239.1.100.1 port 25000 (frames on 25001), IPv4, ttl 1, linux",
  );
  expect(out).toMatch(/ok +route +239\.1\.100\.1 → 224\.0\.0\.0\/4 dev eth0/);
  expect(out).toMatch(/ok +loopback +our own datagram came back/);
  expect(out).toContain("alice  198.18.0.2:40000  instance 0123456789abcdef  (hello)");
  expect(out).toContain('legacy sender  198.18.0.3:5555  1 datagram: "hi from socat"');
  expect(out).toContain("verdict: all checks passed");
});

test("under LANG=C the report is drawn in ASCII (issue 16)", async () => {
  const deps = { platform: linuxHost(), openTransport: fakeRoom() };
  const { out } = await run({}, deps, { LANG: "C" });
  expect(out).toMatch(/ok +route +239\.1\.100\.1 -> 224\.0\.0\.0\/4 dev eth0/);
  expect(out).not.toContain("→");
});

test("--json: one document with every check", async () => {
  const { code, out } = await run(
    { json: true },
    { platform: linuxHost(), openTransport: fakeRoom() },
  );
  expect(code).toBe(0);
  const r = JSON.parse(out);
  expect(r.ok).toBe(true);
  expect(r.checks.map((c: { id: string }) => c.id)).toEqual([
    "interfaces",
    "route",
    "rp-filter",
    "join",
    "membership",
    "recv-buffer",
    "loopback",
    "room",
  ]);
  expect(r.members[0]).toMatchObject({ nick: "alice", from: "198.18.0.2:40000" });
  expect(r.legacy[0]).toMatchObject({ from: "198.18.0.3:5555", sample: "hi from socat" });
  expect(r.interfaces.find((i: { name: string }) => i.name === "eth0")).toMatchObject({
    up: true,
    multicast: true,
    index: 3,
  });
});

test("no route and the join fails: exit 1 with the fix named", async () => {
  const failing: DoctorDeps["openTransport"] = async () => {
    throw new UserError(
      "cannot join group 239.1.100.1: no route to choose an interface by (pass --interface, or add a multicast or default route; see mcchat doctor) (ENODEV)",
      1,
    );
  };
  const { code, out } = await run(
    {},
    { platform: linuxHost({ "/proc/net/route": ROUTE_SUBNET_ONLY }), openTransport: failing },
  );
  expect(code).toBe(1);
  expect(out).toMatch(/FAIL +route +no route for 239\.1\.100\.1/);
  expect(out).toContain(
    "fix: add one (ip route add 224.0.0.0/4 dev eth0) or pass --interface eth0",
  );
  expect(out).toContain(
    "FAIL join         cannot join: join group 239.1.100.1: no route to choose an interface by (pass --interface, or add a multicast or default route) (ENODEV)",
  );
  expect(out).toContain("verdict: 2 checks failed");
});

test("our datagram never comes back: the loop-back check fails", async () => {
  const { code, out } = await run(
    {},
    { platform: linuxHost(), openTransport: fakeRoom({ deaf: true }) },
  );
  expect(code).toBe(1);
  expect(out).toMatch(
    /FAIL +loopback +sent \d+ datagrams? to 239\.1\.100\.1:25001, none came back/,
  );
});

test("bad options are one clear line (UserError)", async () => {
  await expect(
    run({ group: "10.0.0.1" }, { platform: linuxHost(), openTransport: fakeRoom() }),
  ).rejects.toThrow(UserError);
  await expect(
    run({ timeout: "soon" }, { platform: linuxHost(), openTransport: fakeRoom() }),
  ).rejects.toThrow(/timeout/);
});

test("macOS: the /proc checks are listed as not available, the live checks still run", async () => {
  const { code, out } = await run({}, { platform: otherHost("darwin"), openTransport: fakeRoom() });
  expect(code).toBe(0);
  expect(out).toMatch(
    /n\/a +route +route tables are read from \/proc on Linux only \(darwin: see route -n get 239\.1\.100\.1\)/,
  );
  expect(out).toMatch(/ok +loopback/);
  expect(out).toContain(
    "verdict: all checks passed (skipped: route, rp-filter, membership, recv-buffer)",
  );
});

describe("an encrypted room gets nothing plaintext from doctor (issue 15)", () => {
  test("probeDelay: listen past an idle member's 2 s heartbeat first; a short --timeout probes at once", () => {
    expect(probeDelay(3000)).toBe(PROBE_QUIET_MS);
    expect(PROBE_QUIET_MS).toBeGreaterThan(2000);
    expect(probeDelay(60_000)).toBe(PROBE_QUIET_MS);
    expect(probeDelay(1500)).toBe(1000);
    expect(probeDelay(500)).toBe(0);
    expect(probeDelay(300)).toBe(0);
  });

  test("sealed datagrams heard before the probe: nothing sent, loop-back skipped and why", async () => {
    const sent: number[] = [];
    const { code, out } = await run(
      { timeout: "1" },
      { platform: linuxHost(), openTransport: fakeRoom({ sealed: true, sent }) },
    );
    expect(sent).toEqual([]);
    expect(code).toBe(0);
    expect(out).toMatch(
      /n\/a +loopback +the room is encrypted \(sealed datagrams heard\): doctor sent nothing into it/,
    );
    expect(out).toContain(
      "a plaintext probe would reach every member as a datagram it cannot decrypt",
    );
    expect(out).toContain("198.18.0.4:40004  1 datagram");
  });

  test("an open room: the first probe waits for the quiet part, then comes back", async () => {
    const sent: number[] = [];
    const { code, out } = await run(
      { timeout: "1" },
      { platform: linuxHost(), openTransport: fakeRoom({ sent }) },
    );
    expect(code).toBe(0);
    expect(sent.length).toBe(1);
    expect(sent[0]).toBeGreaterThanOrEqual(probeDelay(1000) - 5);
    expect(out).toMatch(/ok +loopback +our own datagram came back/);
  });
});
