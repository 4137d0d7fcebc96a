/**
 * Sealed frames (PROTOCOL.md §10): the pure codec and key derivation of encrypted rooms.
 * No state here: the replay window, the per-key-salt cache and the counting live in
 * src/net/sealed-transport.ts.
 *
 *   room key = scrypt(NFC UTF-8 passphrase, "mcchat/v1 room " + group + ":" + port, N=2^17, r=8, p=1)
 *   send key = HKDF-SHA256(ikm = room key, salt = S, info = "mcchat/v1 send", 32 bytes)
 *   datagram = FF 4D 01 40 | S (16) | counter (u64 BE) | AES-256-GCM(inner frame) | tag (16)
 *   nonce    = 00 00 00 00 || counter (u64 BE),  AAD = the first 28 bytes
 */
import { createCipheriv, createDecipheriv, hkdfSync, scrypt } from "node:crypto";
import {
  HEADER_LENGTH,
  MAGIC_0,
  MAGIC_1,
  MAX_FRAME_BYTES,
  MAX_RECORD_FRAME_BYTES,
  PROTOCOL_VERSION,
  SEALED_TYPE,
} from "./constants.ts";
import { DecodeError } from "./decode-error.ts";

/** Bytes of the random per-run key salt S. */
export const KEY_SALT_LENGTH = 16;
/** Bytes of the GCM tag at the end of a sealed datagram. */
export const TAG_LENGTH = 16;
/** magic(2) version(1) type(1) S(16) counter(8): the associated data. */
export const SEALED_HEADER_LENGTH = 4 + KEY_SALT_LENGTH + 8;
/** Bytes a sealed datagram adds to its inner frame (44). */
export const SEALED_OVERHEAD = SEALED_HEADER_LENGTH + TAG_LENGTH;
/** Shortest valid sealed datagram: the inner frame is at least a v1 header (61 bytes). */
export const MIN_SEALED_BYTES = SEALED_OVERHEAD + HEADER_LENGTH;
/** Longest sealed datagram a member sends: the largest inner frame plus the overhead. */
export const MAX_SEALED_BYTES = SEALED_OVERHEAD + Math.max(MAX_FRAME_BYTES, MAX_RECORD_FRAME_BYTES);
/** Largest counter (u64). A sender must never seal two datagrams with one (S, counter). */
export const MAX_COUNTER = 2n ** 64n - 1n;

/** scrypt cost parameters of the room key (PROTOCOL.md §10.1). */
export const ROOM_KEY_SCRYPT = {
  N: 2 ** 17,
  r: 8,
  p: 1,
  /** 128 * N * r = 128 MiB are needed; Node's default maxmem (32 MiB) is too small. */
  maxmem: 256 * 1024 * 1024,
} as const;
const KEY_LENGTH = 32;
const SEND_INFO = "mcchat/v1 send";

/** What `openFrame` returns: S, the counter and the authenticated inner frame (a copy). */
export interface OpenedFrame {
  salt: Uint8Array;
  counter: bigint;
  inner: Uint8Array;
}

/** The scrypt salt of a room: UTF-8 "mcchat/v1 room " + group + ":" + port. */
export function roomKeySalt(group: string, port: number): Uint8Array {
  return new TextEncoder().encode(`mcchat/v1 room ${group}:${port}`);
}

/**
 * The 32-byte room key of (passphrase, group, room port P). `group` is used as written: pass
 * its canonical text (IPv4 dotted decimal; IPv6 as RFC 5952, lower case) so members agree.
 * The passphrase is NFC-normalized, then UTF-8. Takes ~0.3 s and 128 MiB (on purpose).
 * Throws RangeError for an empty passphrase or a port outside 1..65535.
 */
export function deriveRoomKey(
  passphrase: string,
  group: string,
  port: number,
): Promise<Uint8Array> {
  if (typeof passphrase !== "string" || passphrase.length === 0) {
    return Promise.reject(new RangeError("empty passphrase"));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new RangeError(`port ${String(port)} is not 1..65535`));
  }
  const pass = new TextEncoder().encode(passphrase.normalize("NFC"));
  return new Promise((resolve, reject) => {
    scrypt(pass, roomKeySalt(group, port), KEY_LENGTH, ROOM_KEY_SCRYPT, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key));
    });
  });
}

/** The sending key of one run: HKDF-SHA256(room key, salt S, "mcchat/v1 send"), 32 bytes. */
export function deriveSendKey(roomKey: Uint8Array, salt: Uint8Array): Uint8Array {
  checkLength("room key", roomKey, KEY_LENGTH);
  checkLength("key salt", salt, KEY_SALT_LENGTH);
  return new Uint8Array(hkdfSync("sha256", roomKey, salt, SEND_INFO, KEY_LENGTH));
}

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new RangeError(`${what} must be ${n} bytes`);
  }
}

/** The GCM nonce: 4 zero bytes || the u64 BE counter (header bytes 20..27). */
function nonceOf(header: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(header.subarray(20, 28), 4);
  return nonce;
}

/**
 * Seals one inner v1 frame with a sending key. The caller owns the counter: it must never pass
 * the same (key, counter) twice. Throws RangeError on a bad key/salt length, a counter outside
 * u64, or an inner frame shorter than a v1 header (caller bugs).
 */
export function sealFrame(
  sendKey: Uint8Array,
  salt: Uint8Array,
  counter: bigint,
  inner: Uint8Array,
): Uint8Array {
  checkLength("send key", sendKey, KEY_LENGTH);
  checkLength("key salt", salt, KEY_SALT_LENGTH);
  if (typeof counter !== "bigint" || counter < 0n || counter > MAX_COUNTER) {
    throw new RangeError(`counter ${String(counter)} is not a u64`);
  }
  if (!(inner instanceof Uint8Array) || inner.length < HEADER_LENGTH) {
    throw new RangeError("inner frame shorter than a v1 header");
  }
  const out = new Uint8Array(SEALED_OVERHEAD + inner.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = PROTOCOL_VERSION;
  out[3] = SEALED_TYPE;
  out.set(salt, 4);
  new DataView(out.buffer).setBigUint64(20, counter);
  const aad = out.subarray(0, SEALED_HEADER_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", sendKey, nonceOf(aad), {
    authTagLength: TAG_LENGTH,
  });
  cipher.setAAD(aad);
  const body = cipher.update(inner);
  const last = cipher.final();
  out.set(body, SEALED_HEADER_LENGTH);
  out.set(last, SEALED_HEADER_LENGTH + body.length);
  out.set(cipher.getAuthTag(), SEALED_HEADER_LENGTH + inner.length);
  return out;
}

/**
 * True if the datagram claims to be sealed: the magic, then any version, then a type in the
 * sealed range 0x40-0x4F. Says nothing about whether it opens. In an encrypted room anything on
 * the companion port for which this is false is plaintext.
 */
export function isSealed(datagram: Uint8Array): boolean {
  return (
    datagram instanceof Uint8Array &&
    datagram.length >= 4 &&
    datagram[0] === MAGIC_0 &&
    datagram[1] === MAGIC_1 &&
    (datagram[3] ?? 0) >= 0x40 &&
    (datagram[3] ?? 0) <= 0x4f
  );
}

/**
 * Reads S and the counter of a sealed datagram without opening it (for a replay check before
 * spending a decryption). Throws DecodeError: `not-framed`, `unsupported-version`,
 * `unknown-type` (not 0x40) or `truncated` (shorter than MIN_SEALED_BYTES).
 */
export function readSealedHeader(datagram: Uint8Array): { salt: Uint8Array; counter: bigint } {
  if (!(datagram instanceof Uint8Array)) throw new DecodeError("not-framed", "not a byte array");
  if (datagram.length < 2 || datagram[0] !== MAGIC_0 || datagram[1] !== MAGIC_1) {
    throw new DecodeError("not-framed", "no magic 0xFF 0x4D");
  }
  if (datagram.length < 4) throw new DecodeError("truncated", "no version and type");
  if (datagram[2] !== PROTOCOL_VERSION) {
    throw new DecodeError("unsupported-version", `version ${datagram[2]}`);
  }
  if (datagram[3] !== SEALED_TYPE) {
    throw new DecodeError(
      "unknown-type",
      `type 0x${(datagram[3] ?? 0).toString(16)} is not SEALED`,
    );
  }
  if (datagram.length < MIN_SEALED_BYTES) {
    throw new DecodeError("truncated", `sealed datagram of ${datagram.length} bytes`);
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  return { salt: datagram.slice(4, 4 + KEY_SALT_LENGTH), counter: view.getBigUint64(20) };
}

/**
 * Opens one sealed datagram. `getKey(S)` returns the sending key for that key salt (derived
 * from the room key, cached by the caller). Throws DecodeError and nothing else, for any input:
 * the reasons of readSealedHeader, or `bad-seal` if the tag does not verify (wrong passphrase,
 * forged, damaged) or getKey fails. Nothing of the inner frame is returned unless it verified.
 * The result never aliases `datagram`.
 */
export function openFrame(
  getKey: (salt: Uint8Array) => Uint8Array,
  datagram: Uint8Array,
): OpenedFrame {
  const { salt, counter } = readSealedHeader(datagram);
  try {
    const key = getKey(salt);
    const aad = datagram.subarray(0, SEALED_HEADER_LENGTH);
    const tagAt = datagram.length - TAG_LENGTH;
    const decipher = createDecipheriv("aes-256-gcm", key, nonceOf(aad), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(datagram.subarray(tagAt));
    const body = decipher.update(datagram.subarray(SEALED_HEADER_LENGTH, tagAt));
    const last = decipher.final(); // throws if the tag does not verify
    const inner = new Uint8Array(body.length + last.length);
    inner.set(body, 0);
    inner.set(last, body.length);
    return { salt, counter, inner };
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError("bad-seal", "authentication failed");
  }
}
