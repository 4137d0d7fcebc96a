/**
 * Sealed frames (PROTOCOL.md §10): the test vectors (made independently with Python, see the
 * fixture's note), a second independent check through Web Crypto, the codec's error contract,
 * and property tests: round trip; random and mutated datagrams throw only DecodeError; any
 * single flipped bit is rejected.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  DecodeError,
  decode,
  deriveRoomKey,
  deriveSendKey,
  encode,
  isFramed,
  isSealed,
  MAX_COUNTER,
  MIN_SEALED_BYTES,
  openFrame,
  readSealedHeader,
  SEALED_OVERHEAD,
  SEALED_TYPE,
  sealFrame,
} from "../../src/protocol/index.ts";
import vectors from "../fixtures/sealed-vectors.json";
import { frame } from "./arbitraries.ts";

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const RUNS = { numRuns: 2000 };

const salt = fromHex(vectors.salt);
const sendKey = fromHex(vectors.sendKey);
const inner = fromHex(vectors.inner);
const keyOf = () => sendKey;

/** The DecodeError `fn` throws; fails the test if it returns or throws anything else. */
function decodeErrorOf(fn: () => unknown): DecodeError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof DecodeError)) throw new Error(`expected DecodeError, got ${String(err)}`);
  return err;
}

describe("test vectors (test/fixtures/sealed-vectors.json)", () => {
  let roomKey: Uint8Array;
  beforeAll(async () => {
    roomKey = await deriveRoomKey(vectors.passphrase, vectors.group, vectors.port);
  });

  test("room key", () => {
    expect(toHex(roomKey)).toBe(vectors.roomKey);
  });

  test("the passphrase is NFC-normalized: a decomposed ü gives the same key", async () => {
    const nfd = vectors.passphrase.normalize("NFD");
    expect(nfd).not.toBe(vectors.passphrase);
    expect(toHex(await deriveRoomKey(nfd, vectors.group, vectors.port))).toBe(vectors.roomKey);
  });

  test("another port gives another key", async () => {
    const other = await deriveRoomKey(vectors.passphrase, vectors.group, vectors.port + 1);
    expect(toHex(other)).not.toBe(vectors.roomKey);
  });

  test("send key", () => {
    expect(toHex(deriveSendKey(roomKey, salt))).toBe(vectors.sendKey);
  });

  test("the inner frame is the HELLO of PROTOCOL.md §9", () => {
    expect(decode(inner)).toEqual({
      type: "hello",
      id: "0123456789abcdef",
      seq: 0xffffffff,
      nick: "alice",
      age: 0,
    });
  });

  for (const v of vectors.sealed) {
    test(`sealed HELLO, counter ${v.counter}: seal`, () => {
      expect(toHex(sealFrame(sendKey, salt, BigInt(v.counter), inner))).toBe(v.hex);
    });
    test(`sealed HELLO, counter ${v.counter}: open`, () => {
      const opened = openFrame(keyOf, fromHex(v.hex));
      expect(toHex(opened.salt)).toBe(vectors.salt);
      expect(opened.counter).toBe(BigInt(v.counter));
      expect(toHex(opened.inner)).toBe(vectors.inner);
    });
  }
});

describe("PROTOCOL.md §10.6", () => {
  test("shows the fixture's vectors", async () => {
    const md = await Bun.file(new URL("../../src/protocol/PROTOCOL.md", import.meta.url)).text();
    const from = md.indexOf("### 10.6 Test vectors");
    const section = md.slice(from, md.indexOf("\n### ", from + 1)); // up to §10.7 (FRESH)
    for (const hex of [vectors.roomKey, vectors.salt, vectors.sendKey, vectors.inner]) {
      expect(section).toContain(hex);
    }
    const blocks = [...section.matchAll(/```text\n([^`]+)```/g)].map((m) =>
      (m[1] ?? "").replace(/\s+/g, ""),
    );
    expect(blocks).toEqual(vectors.sealed.map((v) => v.hex));
  });
});

describe("independent check with Web Crypto", () => {
  test("HKDF-SHA256 send key", async () => {
    const ikm = await crypto.subtle.importKey("raw", fromHex(vectors.roomKey), "HKDF", false, [
      "deriveBits",
    ]);
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode("mcchat/v1 send") },
      ikm,
      256,
    );
    expect(toHex(new Uint8Array(bits))).toBe(toHex(deriveSendKey(fromHex(vectors.roomKey), salt)));
  });

  test("AES-256-GCM: Web Crypto opens what sealFrame made (nonce 0000||counter, AAD 28 bytes)", async () => {
    const key = await crypto.subtle.importKey("raw", sendKey, "AES-GCM", false, ["decrypt"]);
    const counter = 0x0102030405060708n;
    const sealed = sealFrame(sendKey, salt, counter, inner);
    const iv = fromHex("000000000102030405060708");
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv,
        additionalData: Uint8Array.from(sealed.subarray(0, 28)),
        tagLength: 128,
      },
      key,
      Uint8Array.from(sealed.subarray(28)),
    );
    expect(toHex(new Uint8Array(plain))).toBe(vectors.inner);
  });
});

describe("layout and errors", () => {
  test("FF 4D 01 40 | salt | counter BE | ciphertext | tag", () => {
    const s = sealFrame(sendKey, salt, 258n, inner);
    expect(s.length).toBe(inner.length + SEALED_OVERHEAD);
    expect(toHex(s.subarray(0, 4))).toBe("ff4d0140");
    expect(toHex(s.subarray(4, 20))).toBe(vectors.salt);
    expect(toHex(s.subarray(20, 28))).toBe("0000000000000102");
    expect(readSealedHeader(s)).toEqual({ salt, counter: 258n });
    expect(isSealed(s)).toBe(true);
    expect(isFramed(s)).toBe(true);
  });

  test("the plain decoder rejects a sealed datagram as unknown-type", () => {
    const s = sealFrame(sendKey, salt, 0n, inner);
    expect(decodeErrorOf(() => decode(s)).reason).toBe("unknown-type");
    expect(SEALED_TYPE).toBe(0x40);
  });

  test("isSealed: the whole reserved range 0x40-0x4F, nothing else", () => {
    expect(isSealed(inner)).toBe(false);
    expect(isSealed(fromHex("ff4d0140"))).toBe(true);
    expect(isSealed(fromHex("ff4d024f"))).toBe(true);
    expect(isSealed(fromHex("ff4d0150"))).toBe(false);
    expect(isSealed(fromHex("ff4d01"))).toBe(false);
    expect(isSealed(new TextEncoder().encode("hello"))).toBe(false);
  });

  test("wrong key, or a getKey that throws: bad-seal", () => {
    const s = sealFrame(sendKey, salt, 7n, inner);
    expect(decodeErrorOf(() => openFrame(() => new Uint8Array(32), s)).reason).toBe("bad-seal");
    expect(decodeErrorOf(() => openFrame(() => new Uint8Array(5), s)).reason).toBe("bad-seal");
    const boom = () => {
      throw new TypeError("no key");
    };
    expect(decodeErrorOf(() => openFrame(boom, s)).reason).toBe("bad-seal");
  });

  test("header errors: not-framed, unsupported-version, unknown-type, truncated", () => {
    const s = sealFrame(sendKey, salt, 7n, inner);
    const with_ = (i: number, v: number) => {
      const b = Uint8Array.from(s);
      b[i] = v;
      return b;
    };
    expect(decodeErrorOf(() => openFrame(keyOf, with_(0, 0x41))).reason).toBe("not-framed");
    expect(decodeErrorOf(() => openFrame(keyOf, with_(2, 2))).reason).toBe("unsupported-version");
    expect(decodeErrorOf(() => openFrame(keyOf, with_(3, 0x41))).reason).toBe("unknown-type");
    expect(decodeErrorOf(() => openFrame(keyOf, with_(3, 0x01))).reason).toBe("unknown-type");
    expect(decodeErrorOf(() => openFrame(keyOf, s.subarray(0, 3))).reason).toBe("truncated");
    const short = s.subarray(0, MIN_SEALED_BYTES - 1);
    expect(decodeErrorOf(() => openFrame(keyOf, short)).reason).toBe("truncated");
    expect(decodeErrorOf(() => openFrame(keyOf, "ff4d" as unknown as Uint8Array)).reason).toBe(
      "not-framed",
    );
  });

  test("caller bugs are RangeErrors: counter outside u64, short inner frame, key sizes", () => {
    expect(() => sealFrame(sendKey, salt, -1n, inner)).toThrow(RangeError);
    expect(() => sealFrame(sendKey, salt, MAX_COUNTER + 1n, inner)).toThrow(RangeError);
    expect(sealFrame(sendKey, salt, MAX_COUNTER, inner).subarray(20, 28)).toEqual(
      new Uint8Array(8).fill(0xff),
    );
    expect(() => sealFrame(sendKey, salt, 0n, inner.subarray(0, 16))).toThrow(RangeError);
    expect(() => sealFrame(sendKey.subarray(1), salt, 0n, inner)).toThrow(RangeError);
    expect(() => sealFrame(sendKey, salt.subarray(1), 0n, inner)).toThrow(RangeError);
    expect(() => deriveSendKey(sendKey, salt.subarray(2))).toThrow(RangeError);
  });

  test("deriveRoomKey rejects an empty passphrase and a bad port", async () => {
    await expect(deriveRoomKey("", "239.1.100.1", 25000)).rejects.toThrow(RangeError);
    await expect(deriveRoomKey("x", "239.1.100.1", 0)).rejects.toThrow(RangeError);
    await expect(deriveRoomKey("x", "239.1.100.1", 65536)).rejects.toThrow(RangeError);
  });
});

// ---- properties ----

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const salt16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const counter = fc.bigInt({ min: 0n, max: MAX_COUNTER });
const innerFrame = frame.map((f) => encode(f));
const sealed = fc
  .tuple(key32, salt16, counter, innerFrame)
  .map(([k, s, c, f]) => ({ key: k, salt: s, counter: c, inner: f, bytes: sealFrame(k, s, c, f) }));

/** openFrame, turning DecodeError into undefined; any other exception fails the property. */
function tryOpen(key: Uint8Array, bytes: Uint8Array) {
  try {
    return openFrame(() => key, bytes);
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

describe("properties", () => {
  test("round trip: open(seal(frame)) = frame, salt, counter", () => {
    fc.assert(
      fc.property(sealed, (s) => {
        const opened = openFrame(() => s.key, s.bytes);
        expect(opened.inner).toEqual(s.inner);
        expect(opened.salt).toEqual(s.salt);
        expect(opened.counter).toBe(s.counter);
        expect(decode(opened.inner)).toEqual(decode(s.inner));
      }),
      { numRuns: 500 },
    );
  });

  test("random bytes, and random bytes behind a sealed header: only DecodeError", () => {
    const headed = fc
      .tuple(salt16, fc.uint8Array({ maxLength: 200 }))
      .map(([s, rest]) => Uint8Array.from([0xff, 0x4d, 1, 0x40, ...s, ...rest]));
    fc.assert(
      fc.property(key32, fc.oneof(fc.uint8Array({ maxLength: 200 }), headed), (k, b) => {
        expect(tryOpen(k, b)).toBeUndefined();
      }),
      RUNS,
    );
  });

  test("mutated sealed datagrams (flips, truncations, extensions) are all rejected, with DecodeError", () => {
    fc.assert(
      fc.property(
        sealed,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.constantFrom("xor", "truncate", "extend"),
        (s, flips, cut, extra, how) => {
          let b: Uint8Array;
          if (how === "truncate") b = s.bytes.slice(0, cut % s.bytes.length);
          else if (how === "extend") b = Uint8Array.from([...s.bytes, ...extra]);
          else {
            b = Uint8Array.from(s.bytes);
            // xor with a non-zero value: every mutation really changes a byte
            for (const [at, v] of flips) b[at % b.length] = (b[at % b.length] ?? 0) ^ v;
            if (toHex(b) === toHex(s.bytes)) return; // two flips of one byte cancelled out
          }
          expect(tryOpen(s.key, b)).toBeUndefined();
        },
      ),
      RUNS,
    );
  });

  test("one flipped bit anywhere (header, ciphertext or tag) is rejected", () => {
    fc.assert(
      fc.property(sealed, fc.nat(), (s, bit) => {
        const b = Uint8Array.from(s.bytes);
        const at = bit % (b.length * 8);
        b[at >> 3] = (b[at >> 3] ?? 0) ^ (1 << (at & 7));
        expect(tryOpen(s.key, b)).toBeUndefined();
      }),
      RUNS,
    );
  });

  test("every bit of the vector's datagram, flipped in turn, is rejected", () => {
    const good = fromHex(vectors.sealed[0]?.hex ?? "");
    expect(openFrame(keyOf, good).inner).toEqual(inner);
    for (let at = 0; at < good.length * 8; at++) {
      const b = Uint8Array.from(good);
      b[at >> 3] = (b[at >> 3] ?? 0) ^ (1 << (at & 7));
      expect(tryOpen(sendKey, b)).toBeUndefined();
    }
  });
});
