/**
 * FRESH, the sealed layer's own inner frame (PROTOCOL.md §10.7): how a run proves it is live
 * now. It travels sealed (type 0x40) like every frame of an encrypted room, but its inner bytes
 * start with `FF 46` instead of the frame magic `FF 4D`, so the session never sees it and a
 * 0.3 member (which drops sealed datagrams whose inner bytes are not a v1 frame, silently)
 * ignores it.
 *
 *   FF 46 | version 01 | flags (bit 0: CHALLENGE) | floor u64 | challenge nonce (8)
 *         | n u8 (<= 32) | n echoed nonces (8 each) | (later versions may append; ignored)
 *
 * Pure codec, no state: src/net/freshness.ts runs the exchange.
 */
import { DecodeError } from "./decode-error.ts";

export const FRESH_MAGIC_0 = 0xff;
export const FRESH_MAGIC_1 = 0x46;
export const FRESH_VERSION = 1;
/** Bytes of a challenge nonce. */
export const NONCE_LENGTH = 8;
/** Echoed nonces in one FRESH frame, at most. */
export const MAX_ECHOES = 32;
/** magic(2) version(1) flags(1) floor(8) challenge(8) n(1). */
export const FRESH_FIXED_LENGTH = 21;
const CHALLENGE_FLAG = 0x01;

export interface Fresh {
  /** A new nonce the sender asks every other run to echo, or undefined. */
  challenge?: Uint8Array;
  /**
   * Every datagram the sender sealed with a counter >= floor was sealed recently (within
   * FRESH_AGE_MS of its own clock when it sealed this frame). Older counters: not fresh.
   */
  floor: bigint;
  /** Nonces of other runs' challenges the sender heard recently. */
  echoes: Uint8Array[];
}

/** True if these inner bytes are a FRESH frame (of any version), not a v1 frame. */
export function isFresh(inner: Uint8Array): boolean {
  return inner.length >= 2 && inner[0] === FRESH_MAGIC_0 && inner[1] === FRESH_MAGIC_1;
}

export function encodeFresh(f: Fresh): Uint8Array {
  if (f.echoes.length > MAX_ECHOES) throw new RangeError(`more than ${MAX_ECHOES} echoes`);
  if (f.floor < 0n || f.floor >= 2n ** 64n) throw new RangeError("floor is not a u64");
  const out = new Uint8Array(FRESH_FIXED_LENGTH + NONCE_LENGTH * f.echoes.length);
  out[0] = FRESH_MAGIC_0;
  out[1] = FRESH_MAGIC_1;
  out[2] = FRESH_VERSION;
  out[3] = f.challenge ? CHALLENGE_FLAG : 0;
  new DataView(out.buffer).setBigUint64(4, f.floor);
  if (f.challenge) out.set(checkNonce(f.challenge), 12);
  out[20] = f.echoes.length;
  f.echoes.forEach((e, i) => {
    out.set(checkNonce(e), FRESH_FIXED_LENGTH + NONCE_LENGTH * i);
  });
  return out;
}

function checkNonce(n: Uint8Array): Uint8Array {
  if (n.length !== NONCE_LENGTH) throw new RangeError(`a nonce is ${NONCE_LENGTH} bytes`);
  return n;
}

/**
 * Decodes a FRESH frame. Throws DecodeError only: `not-framed` (not FF 46),
 * `unsupported-version`, `truncated`, `bad-count` (more than MAX_ECHOES echoes).
 */
export function decodeFresh(inner: Uint8Array): Fresh {
  if (!isFresh(inner)) throw new DecodeError("not-framed", "no FRESH magic 0xFF 0x46");
  if (inner.length < 3) throw new DecodeError("truncated", "no version");
  if (inner[2] !== FRESH_VERSION) {
    throw new DecodeError("unsupported-version", `FRESH version ${inner[2]}`);
  }
  if (inner.length < FRESH_FIXED_LENGTH) throw new DecodeError("truncated", "short FRESH frame");
  const n = inner[20] as number;
  if (n > MAX_ECHOES) throw new DecodeError("bad-count", `${n} echoes`);
  if (inner.length < FRESH_FIXED_LENGTH + NONCE_LENGTH * n) {
    throw new DecodeError("truncated", `FRESH frame with ${n} echoes`);
  }
  const view = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
  const echoes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const at = FRESH_FIXED_LENGTH + NONCE_LENGTH * i;
    echoes.push(inner.slice(at, at + NONCE_LENGTH));
  }
  const fresh: Fresh = { floor: view.getBigUint64(4), echoes };
  if (((inner[3] as number) & CHALLENGE_FLAG) !== 0) fresh.challenge = inner.slice(12, 20);
  return fresh;
}
