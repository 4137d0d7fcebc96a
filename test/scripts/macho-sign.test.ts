/**
 * scripts/macho-sign.ts on a made-up 64-bit Mach-O executable (header, __TEXT, __LINKEDIT,
 * LC_CODE_SIGNATURE pointing at a stale signature): the ad-hoc signature it writes, checked
 * field by field and page hash by page hash here, and what verifyAdhoc() refuses.
 * (That the form is the one Bun writes was checked on Bun's own darwin-arm64 output:
 * re-signing it gives back the same bytes; see the file's header.)
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { adhocSign, verifyAdhoc } from "../../scripts/macho-sign.ts";

const CPU_X86_64 = 0x01000007;
const CPU_ARM64 = 0x0100000c;
const TEXT_SIZE = 3 * 4096;
const SIG_OFF = TEXT_SIZE + 1008; // 16-byte aligned, inside __LINKEDIT
const LINKEDIT_CMD = 32 + 72;
const SIG_CMD = 32 + 2 * 72;

function segment(name: string, vmaddr: number, vmsize: number, fileoff: number, filesize: number) {
  const c = Buffer.alloc(72);
  c.writeUInt32LE(0x19, 0);
  c.writeUInt32LE(72, 4);
  c.write(name, 8, "latin1");
  c.writeBigUInt64LE(BigInt(vmaddr), 24);
  c.writeBigUInt64LE(BigInt(vmsize), 32);
  c.writeBigUInt64LE(BigInt(fileoff), 40);
  c.writeBigUInt64LE(BigInt(filesize), 48);
  return c;
}

/** An executable with varied bytes and a stale 100-byte "signature" at SIG_OFF. */
function machO(cputype: number): Buffer {
  const staleSig = 100;
  const size = SIG_OFF + staleSig;
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 2654435761) >>> 24;
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0xfeedfacf, 0);
  header.writeUInt32LE(cputype, 4);
  header.writeUInt32LE(2, 12); // MH_EXECUTE
  header.writeUInt32LE(3, 16); // ncmds
  header.writeUInt32LE(72 + 72 + 16, 20);
  header.copy(b, 0);
  segment("__TEXT", 0x100000000, TEXT_SIZE, 0, TEXT_SIZE).copy(b, 32);
  segment("__LINKEDIT", 0x100000000 + TEXT_SIZE, 4096, TEXT_SIZE, size - TEXT_SIZE).copy(
    b,
    LINKEDIT_CMD,
  );
  const sig = Buffer.alloc(16);
  sig.writeUInt32LE(0x1d, 0);
  sig.writeUInt32LE(16, 4);
  sig.writeUInt32LE(SIG_OFF, 8);
  sig.writeUInt32LE(staleSig, 12);
  sig.copy(b, SIG_CMD);
  b.writeUInt32BE(0xfade0cc0, SIG_OFF);
  return b;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("adhocSign", () => {
  test("a stale signature does not verify; the signed file does", () => {
    const stale = machO(CPU_X86_64);
    expect(verifyAdhoc(stale).ok).toBe(false);
    const signed = adhocSign(stale, "mcchat");
    expect(verifyAdhoc(signed)).toEqual({ ok: true, detail: "4 page hashes match (ad hoc)" });
    // Only __LINKEDIT's sizes and LC_CODE_SIGNATURE's size change before the signature.
    const same = (from: number, to: number) =>
      expect(sha(signed.subarray(from, to))).toBe(sha(stale.subarray(from, to)));
    same(0, LINKEDIT_CMD + 32);
    same(LINKEDIT_CMD + 40, LINKEDIT_CMD + 48);
    same(LINKEDIT_CMD + 56, SIG_CMD + 12);
    same(SIG_CMD + 16, SIG_OFF);
  });

  test("the SuperBlob, CodeDirectory and load commands, field by field", () => {
    const s = adhocSign(machO(CPU_X86_64), "mcchat");
    const nCode = Math.ceil(SIG_OFF / 4096);
    const cdLen = 88 + "mcchat\0".length + nCode * 32;
    expect(s.length).toBe(SIG_OFF + 20 + cdLen);
    // LC_CODE_SIGNATURE: same offset, new size; __LINKEDIT grows to the end of the file.
    expect([s.readUInt32LE(SIG_CMD + 8), s.readUInt32LE(SIG_CMD + 12)]).toEqual([
      SIG_OFF,
      20 + cdLen,
    ]);
    expect(Number(s.readBigUInt64LE(LINKEDIT_CMD + 48))).toBe(s.length - TEXT_SIZE);
    expect(Number(s.readBigUInt64LE(LINKEDIT_CMD + 32))).toBe(4096); // x86-64 pages: 4 KiB
    // SuperBlob: magic, length, one CodeDirectory at 20.
    const sb = SIG_OFF;
    expect([0, 4, 8, 12, 16].map((o) => s.readUInt32BE(sb + o))).toEqual([
      0xfade0cc0,
      20 + cdLen,
      1,
      0,
      20,
    ]);
    const cd = sb + 20;
    const u32 = (o: number) => s.readUInt32BE(cd + o);
    expect({
      magic: u32(0),
      length: u32(4),
      version: u32(8),
      flags: u32(12),
      hashOffset: u32(16),
      identOffset: u32(20),
      nSpecialSlots: u32(24),
      nCodeSlots: u32(28),
      codeLimit: u32(32),
      hash: [s[cd + 36], s[cd + 37], s[cd + 39]],
      execSegLimit: Number(s.readBigUInt64BE(cd + 72)),
      execSegFlags: Number(s.readBigUInt64BE(cd + 80)),
      ident: s.subarray(cd + 88, cd + 95).toString("latin1"),
    }).toEqual({
      magic: 0xfade0c02,
      length: cdLen,
      version: 0x20400,
      flags: 0x20002, // adhoc | linker-signed
      hashOffset: 95,
      identOffset: 88,
      nSpecialSlots: 0,
      nCodeSlots: nCode,
      codeLimit: SIG_OFF,
      hash: [32, 2, 12], // SHA-256, 4 KiB pages
      execSegLimit: TEXT_SIZE,
      execSegFlags: 1,
      ident: "mcchat\0",
    });
    // Every page hash, the last page short, computed here independently.
    for (let i = 0; i < nCode; i++) {
      const page = s.subarray(i * 4096, Math.min((i + 1) * 4096, SIG_OFF));
      expect(s.subarray(cd + 95 + i * 32, cd + 95 + (i + 1) * 32).toString("hex")).toBe(sha(page));
    }
  });

  test("signing again changes nothing; arm64 rounds __LINKEDIT to 16 KiB pages", () => {
    const once = adhocSign(machO(CPU_ARM64), "mcchat");
    expect(sha(adhocSign(once, "mcchat"))).toBe(sha(once));
    expect(Number(once.readBigUInt64LE(LINKEDIT_CMD + 32))).toBe(16384);
  });
});

describe("verifyAdhoc refuses", () => {
  const good = adhocSign(machO(CPU_X86_64), "mcchat");

  test("a changed byte in a page, or in the load commands (page 0)", () => {
    const page2 = Buffer.from(good);
    page2[2 * 4096 + 7] = (page2[2 * 4096 + 7] as number) ^ 1;
    expect(verifyAdhoc(page2)).toEqual({ ok: false, detail: "1 of 4 page hashes do not match" });
    const cmds = Buffer.from(good);
    cmds.writeUInt32LE(0x1234, 32 + 56); // __TEXT maxprot
    expect(verifyAdhoc(cmds)).toEqual({ ok: false, detail: "1 of 4 page hashes do not match" });
  });

  test("bytes after the signature, a code limit short of it, no signature, not Mach-O", () => {
    expect(verifyAdhoc(Buffer.concat([good, Buffer.from([0])])).detail).toMatch(/^file ends at/);
    const short = Buffer.from(good);
    short.writeUInt32BE(SIG_OFF - 4096, SIG_OFF + 20 + 32);
    expect(verifyAdhoc(short).detail).toBe(`code limit ${SIG_OFF - 4096}, signature at ${SIG_OFF}`);
    const stale = machO(CPU_X86_64);
    stale.writeUInt32BE(0, SIG_OFF);
    expect(verifyAdhoc(stale).detail).toBe("no embedded signature at LC_CODE_SIGNATURE's offset");
    const elf = Buffer.from(
      "\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    );
    expect(verifyAdhoc(elf)).toEqual({
      ok: false,
      detail: "not a 64-bit little-endian Mach-O file",
    });
    expect(() => adhocSign(elf, "mcchat")).toThrow(/not a 64-bit little-endian Mach-O/);
  });
});
