/**
 * Ad-hoc code signatures of 64-bit Mach-O executables, checked and made without macOS.
 *
 * `bun build --compile` writes the bundle into a copy of Bun's runtime. For darwin-arm64
 * Bun (1.4.4) then signs the result ad hoc; for darwin-x64 it keeps the runtime's own
 * signature, which no longer matches the file (its code limit stops before the bundle and
 * the first page's hash is stale): `codesign --verify` calls it invalid and macOS may kill
 * the process. scripts/release.ts checks every darwin binary with verifyAdhoc() and, when
 * the check fails, replaces the signature with the one adhocSign() makes: the same form as
 * Bun's darwin-arm64 output (a SuperBlob holding one CodeDirectory, version 0x20400, flags
 * adhoc|linker-signed, SHA-256 of every 4 KiB page up to the signature, no special slots).
 * Re-signing Bun's own darwin-arm64 output this way gives back its bytes exactly
 * (test/scripts/macho-sign.test.ts checks the same on a made-up executable).
 */
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CD_HEADER = 88; // CodeDirectory version 0x20400 (with the exec segment fields)
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const HASH_SIZE = 32;
const HASH_SHA256 = 2;

interface Layout {
  /** Offset of LC_CODE_SIGNATURE's load command. */
  sigCmd: number;
  dataoff: number;
  datasize: number;
  /** Offset of the __LINKEDIT segment command. */
  linkedit: number;
  /** __TEXT's file size (the exec segment limit). */
  textSize: number;
  /** CPU page size for segment rounding: 16 KiB on arm64, 4 KiB on x86-64. */
  segmentPage: number;
}

function layout(b: Buffer): Layout {
  if (b.length < 32 || b.readUInt32LE(0) !== MH_MAGIC_64) {
    throw new Error("not a 64-bit little-endian Mach-O file");
  }
  const cputype = b.readUInt32LE(4);
  const ncmds = b.readUInt32LE(16);
  let off = 32;
  let sigCmd = -1;
  let linkedit = -1;
  let textSize = -1;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(off);
    const size = b.readUInt32LE(off + 4);
    if (cmd === LC_CODE_SIGNATURE) sigCmd = off;
    if (cmd === LC_SEGMENT_64) {
      const name = b
        .subarray(off + 8, off + 24)
        .toString("latin1")
        .replace(/\0.*$/s, "");
      if (name === "__LINKEDIT") linkedit = off;
      if (name === "__TEXT") textSize = Number(b.readBigUInt64LE(off + 48));
    }
    off += size;
  }
  if (sigCmd < 0) throw new Error("no LC_CODE_SIGNATURE load command");
  if (linkedit < 0 || textSize < 0) throw new Error("no __TEXT or __LINKEDIT segment");
  return {
    sigCmd,
    dataoff: b.readUInt32LE(sigCmd + 8),
    datasize: b.readUInt32LE(sigCmd + 12),
    linkedit,
    textSize,
    segmentPage: cputype === 0x0100000c ? 16384 : 4096,
  };
}

export interface Verdict {
  ok: boolean;
  /** Why not, or what was checked. */
  detail: string;
}

/**
 * Checks the signature as the kernel and `codesign --verify` would for an ad-hoc
 * signature: a CodeDirectory whose code limit is the signature's offset, and whose page
 * hashes (SHA-256, 4 KiB, the last page short) match the file; nothing after the signature.
 */
export function verifyAdhoc(file: Uint8Array): Verdict {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let l: Layout;
  try {
    l = layout(b);
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
  const sb = l.dataoff;
  if (sb + 12 > b.length || b.readUInt32BE(sb) !== CSMAGIC_EMBEDDED_SIGNATURE) {
    return { ok: false, detail: "no embedded signature at LC_CODE_SIGNATURE's offset" };
  }
  const sbLen = b.readUInt32BE(sb + 4);
  if (sb + l.datasize !== b.length || sbLen > l.datasize) {
    return { ok: false, detail: `file ends at ${b.length}, signature at ${sb}+${l.datasize}` };
  }
  const count = b.readUInt32BE(sb + 8);
  let cd = -1;
  for (let i = 0; i < count; i++) {
    if (b.readUInt32BE(sb + 12 + i * 8) === 0) cd = sb + b.readUInt32BE(sb + 16 + i * 8);
  }
  if (cd < 0 || b.readUInt32BE(cd) !== CSMAGIC_CODEDIRECTORY) {
    return { ok: false, detail: "no CodeDirectory" };
  }
  const hashOffset = b.readUInt32BE(cd + 16);
  const nCode = b.readUInt32BE(cd + 28);
  const codeLimit = b.readUInt32BE(cd + 32);
  const hashSize = b[cd + 36] as number;
  const hashType = b[cd + 37] as number;
  const pageSize = 1 << (b[cd + 39] as number);
  if (hashType !== HASH_SHA256 || hashSize !== HASH_SIZE) {
    return { ok: false, detail: `hash type ${hashType}/${hashSize}, not SHA-256` };
  }
  if (codeLimit !== l.dataoff) {
    return { ok: false, detail: `code limit ${codeLimit}, signature at ${l.dataoff}` };
  }
  if (nCode !== Math.ceil(codeLimit / pageSize)) {
    return { ok: false, detail: `${nCode} page hashes for ${codeLimit} bytes` };
  }
  let bad = 0;
  for (let i = 0; i < nCode; i++) {
    const page = b.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit));
    const want = b.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize);
    if (!createHash("sha256").update(page).digest().equals(want)) bad++;
  }
  if (bad) return { ok: false, detail: `${bad} of ${nCode} page hashes do not match` };
  const flags = b.readUInt32BE(cd + 12);
  return {
    ok: true,
    detail: `${nCode} page hashes match${flags & CS_ADHOC ? " (ad hoc)" : ""}`,
  };
}

/**
 * The executable with its signature replaced by an ad-hoc one named `identifier`
 * (LC_CODE_SIGNATURE's size and __LINKEDIT's sizes follow; the signature stays where it
 * starts). Throws on what it cannot sign.
 */
export function adhocSign(file: Uint8Array, identifier: string): Buffer {
  const src = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const l = layout(src);
  const codeLimit = l.dataoff;
  const ident = Buffer.from(`${identifier}\0`, "utf8");
  const nCode = Math.ceil(codeLimit / PAGE);
  const cdLen = CD_HEADER + ident.length + nCode * HASH_SIZE;
  const sbLen = 20 + cdLen;
  const out = Buffer.alloc(codeLimit + sbLen);
  src.copy(out, 0, 0, codeLimit);

  // Load commands first: the first page's hash covers them.
  out.writeUInt32LE(sbLen, l.sigCmd + 12);
  const linkeditOff = Number(out.readBigUInt64LE(l.linkedit + 40));
  const linkeditSize = out.length - linkeditOff;
  const rounded = Math.ceil(linkeditSize / l.segmentPage) * l.segmentPage;
  out.writeBigUInt64LE(
    BigInt(Math.max(rounded, Number(out.readBigUInt64LE(l.linkedit + 32)))),
    l.linkedit + 32,
  );
  out.writeBigUInt64LE(BigInt(linkeditSize), l.linkedit + 48);

  const sb = codeLimit;
  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, sb);
  out.writeUInt32BE(sbLen, sb + 4);
  out.writeUInt32BE(1, sb + 8); // one blob
  out.writeUInt32BE(0, sb + 12); // CSSLOT_CODEDIRECTORY
  out.writeUInt32BE(20, sb + 16);
  const cd = sb + 20;
  out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, cd);
  out.writeUInt32BE(cdLen, cd + 4);
  out.writeUInt32BE(0x20400, cd + 8);
  out.writeUInt32BE(CS_ADHOC | CS_LINKER_SIGNED, cd + 12);
  out.writeUInt32BE(CD_HEADER + ident.length, cd + 16); // hashOffset
  out.writeUInt32BE(CD_HEADER, cd + 20); // identOffset
  out.writeUInt32BE(0, cd + 24); // no special slots
  out.writeUInt32BE(nCode, cd + 28);
  out.writeUInt32BE(codeLimit, cd + 32);
  out[cd + 36] = HASH_SIZE;
  out[cd + 37] = HASH_SHA256;
  out[cd + 38] = 0; // platform
  out[cd + 39] = PAGE_SHIFT;
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64, execSegBase: 0
  out.writeBigUInt64BE(BigInt(l.textSize), cd + 72); // execSegLimit
  out.writeBigUInt64BE(BigInt(CS_EXECSEG_MAIN_BINARY), cd + 80);
  ident.copy(out, cd + CD_HEADER);
  const hashes = cd + CD_HEADER + ident.length;
  for (let i = 0; i < nCode; i++) {
    createHash("sha256")
      .update(out.subarray(i * PAGE, Math.min((i + 1) * PAGE, codeLimit)))
      .digest()
      .copy(out, hashes + i * HASH_SIZE);
  }
  return out;
}
