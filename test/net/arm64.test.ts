/**
 * The linux-arm64 release binary, run under qemu-aarch64 user emulation with Debian's
 * arm64 C library (`qemu-aarch64 -L /usr/aarch64-linux-gnu`; packages qemu-user and
 * libc6-arm64-cross), in a lab room with an x64 member:
 *
 *   h0 198.18.0.1  mcchat-linux-arm64 "arm"  (-e gbk --json, lines from its stdin)
 *   h1 198.18.0.2  the x64 mcchat "x64"      (dist/mcchat — or MCCHAT_TEST_BINARY — else source)
 *
 * They hear each other join, then exchange Chinese text both ways as framed messages and
 * as raw GBK datagrams (`--raw -e gbk`, decoded as legacy text by the other side); each
 * text is shown exactly once (checked after a later message from the same sender).
 *
 * The arm64 binary: MCCHAT_TEST_ARM64_BINARY, else dist/release/mcchat-linux-arm64 (npm run
 * release), else dist/test/mcchat-linux-arm64, which scripts/test.ts builds before the
 * network run (the target's runtime comes from the npm registry once, and this file runs
 * without a network); built here if still missing (works when the runtime is cached).
 */
import { afterEach, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { join, relative } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { events, type JsonEvent, messages, waitEvent } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  describeLab,
  implementations,
  type Proc,
  ROOT,
  run,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { fromHost, waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const QEMU = Bun.which("qemu-aarch64");
const SYSROOT = "/usr/aarch64-linux-gnu";
const HAVE_SYSROOT = existsSync(join(SYSROOT, "lib/ld-linux-aarch64.so.1"));
const SKIP = !QEMU
  ? "qemu-aarch64 is not installed (Debian package qemu-user)"
  : !HAVE_SYSROOT
    ? `no arm64 C library in ${SYSROOT} (Debian package libc6-arm64-cross)`
    : undefined;

const GROUP = "239.1.64.1";
const PORT = "26401";

/** The arm64 binary to test, built if none exists (see the header). */
function arm64Binary(): string {
  const env = process.env.MCCHAT_TEST_ARM64_BINARY;
  if (env) return join(ROOT, relative(ROOT, env));
  const release = join(ROOT, "dist/release/mcchat-linux-arm64");
  if (existsSync(release)) return release;
  const built = join(ROOT, "dist/test/mcchat-linux-arm64");
  if (!existsSync(built)) {
    const r = Bun.spawnSync(
      [process.execPath, "scripts/build.ts", "--target", "bun-linux-arm64", "--outfile", built],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    );
    if (r.exitCode !== 0) {
      throw new Error(
        `could not build ${relative(ROOT, built)} (without a network the bun-linux-arm64 runtime must be cached: run \`bun scripts/build.ts --target bun-linux-arm64 --outfile dist/test/mcchat-linux-arm64\` once, or \`npm run release\`):\n${r.stdout}${r.stderr}`,
      );
    }
  }
  return built;
}

/** e_machine of an ELF file (183 = AArch64, 62 = x86-64). */
function elfMachine(file: string): number {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** The x64 side: the compiled binary when there is one, else source. */
const X64 = (() => {
  const impls = implementations();
  return impls.find((i) => i.label !== "source" && i.available) ?? (impls[0] as (typeof impls)[0]);
})();

const title = `the linux-arm64 binary under qemu-aarch64 with an x64 member (${X64.label})`;

describeLab(SKIP ? `${title} [skipped: ${SKIP}]` : title, () => {
  const when = SKIP ? test.skip : test;
  const lab = sharedLab(2);
  let bin = "";
  const qemu = (args: string[]) => [QEMU as string, "-L", SYSROOT, bin, ...args];

  when(
    "is an AArch64 executable and prints its version",
    async () => {
      bin = arm64Binary();
      expect(elfMachine(bin)).toBe(183);
      const started = performance.now();
      const r = await run(qemu(["--version"]), { timeoutMs: 30_000 });
      const ms = Math.round(performance.now() - started);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // Release builds add "(<commit> linux-arm64)".
      expect(r.stdout).toMatch(
        new RegExp(`^mcchat ${pkg.version.replaceAll(".", "\\.")}( \\(\\S+ linux-arm64\\))?\\n$`),
      );
      console.log(`arm64: ${relative(ROOT, bin)}: ${r.stdout.trim()} in ${ms} ms under qemu`);
    },
    40_000,
  );

  when(
    "in one room with an x64 member: Chinese text both ways, framed and as raw GBK, each shown once",
    async () => {
      bin ||= arm64Binary();
      const [h0, h1] = await lab();
      const room = ["-y", "-g", GROUP, "-p", PORT, "-e", "gbk", "--json"];
      const started = performance.now();
      const arm = h0.spawn(qemu([...room, "-n", "arm"]), { stdin: "pipe" });
      const x64 = h1.spawn([...X64.argv, ...room, "-n", "x64"], { stdin: "pipe" });
      const both = [arm, x64];
      // Under emulation the arm64 member takes a while to start: a wide bound.
      await waitForJoins(
        [
          [arm, ["x64"]],
          [x64, ["arm"]],
        ],
        60_000,
        "the arm64 and x64 members hear each other join",
        both,
      );
      console.log(
        `arm64: both members joined ${Math.round(performance.now() - started)} ms after start`,
      );
      expect(events(x64).find((e) => e.type === "join" && e.nick === "arm")?.from).toMatch(
        fromHost(h0),
      );
      expect(events(arm).find((e) => e.type === "join" && e.nick === "x64")?.from).toMatch(
        fromHost(h1),
      );

      const said = (p: Proc, text: string) => messages(p).filter((e) => e.text === text);
      const hears = (p: Proc, text: string, what: string): Promise<JsonEvent> =>
        waitEvent(p, (e) => e.type === "message" && e.text === text, what, 30_000);

      // Framed messages (the text travels as UTF-8 whatever -e says).
      const fromArm = "来自 arm64 的问候：你好！";
      const fromX64 = "来自 x64 的回答：你好，树莓派";
      arm.write(`${fromArm}\n`);
      x64.write(`${fromX64}\n`);
      expect(await hears(x64, fromArm, "x64 gets the arm64 member's message")).toMatchObject({
        nick: "arm",
        from: expect.stringMatching(fromHost(h0)),
      });
      expect(await hears(arm, fromX64, "arm64 gets the x64 member's message")).toMatchObject({
        nick: "x64",
        from: expect.stringMatching(fromHost(h1)),
      });

      // Raw GBK datagrams: encoded by one side's iconv-lite, decoded by the other's.
      const rawArm = "旧程序格式：arm64 发出的原始文本";
      const rawX64 = "旧程序格式：x64 发出的原始文本";
      const rawArgs = ["--raw", "-y", "-g", GROUP, "-p", PORT, "-e", "gbk"];
      const txArm = h0.spawn(qemu(rawArgs), { stdin: `${rawArm}\n` });
      const txX64 = h1.spawn([...X64.argv, ...rawArgs], { stdin: `${rawX64}\n` });
      for (const tx of [txArm, txX64]) {
        expect(await tx.waitForExit(30_000)).toBe(0);
        expect(tx.stderr).toBe("");
      }
      expect(await hears(x64, rawArm, "x64 decodes the arm64 raw GBK line")).toMatchObject({
        legacy: true,
        from: expect.stringMatching(fromHost(h0)),
      });
      expect(await hears(arm, rawX64, "arm64 decodes the x64 raw GBK line")).toMatchObject({
        legacy: true,
        from: expect.stringMatching(fromHost(h1)),
      });

      // Exactly once: a later framed message from each sender has arrived, and every text
      // above is there once (a duplicate of an earlier frame would have come before it).
      arm.write("arm: 完\n");
      x64.write("x64: 完\n");
      await hears(x64, "arm: 完", "x64 gets the arm64 member's last line");
      await hears(arm, "x64: 完", "arm64 gets the x64 member's last line");
      for (const [p, texts] of [
        [x64, [fromArm, rawArm, "arm: 完"]],
        [arm, [fromX64, rawX64, "x64: 完"]],
      ] as const) {
        for (const t of texts)
          expect({ text: t, shown: said(p, t).length }).toEqual({ text: t, shown: 1 });
      }
      // Nothing garbled: every message either member showed is one of the texts sent.
      const sent = new Set([fromArm, fromX64, rawArm, rawX64, "arm: 完", "x64: 完"]);
      for (const p of both) {
        expect(messages(p).filter((e) => !sent.has(e.text ?? ""))).toEqual([]);
      }

      arm.end();
      x64.end();
      for (const p of both) expect(await p.waitForExit(30_000)).toBe(0);
    },
    180_000,
  );
});
