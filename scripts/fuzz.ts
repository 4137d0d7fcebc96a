/**
 * Property tests of every decoder against hostile input (issue 8), with fast-check. Pure: no
 * network, no files.
 *
 *   bun scripts/fuzz.ts                   100,000 runs per property, a random seed (printed)
 *   bun scripts/fuzz.ts --seed 12345      repeat a run (each property uses seed + its index)
 *   bun scripts/fuzz.ts --runs 1000       fewer runs (quick check)
 *   bun scripts/fuzz.ts --only sealed     only properties whose name contains the word
 *
 * The contract checked: for any bytes, a decoder returns a value or throws `DecodeError`, never
 * anything else, and what it returns is consistent (a decoded frame re-encodes to the same
 * bytes; a sealed datagram opens only if it is exactly what was sealed). Decoders:
 *   - `decode` (src/protocol/frame.ts), on random, framed-looking and mutated valid datagrams;
 *   - `readHeader` and every body codec directly (bypassing decode's catch-all, which turns an
 *     internal error into a DecodeError and would hide it);
 *   - `joinFragments` (reassembly), `decodeText` (legacy text in every room encoding: must never
 *     throw at all);
 *   - `openFrame` / `readSealedHeader` (src/protocol/sealed.ts), when that module exists.
 * Prints a summary line per property and exits 1 if any property found a counterexample.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { codecByCode } from "../src/protocol/codec-registry.ts";
import { Reader } from "../src/protocol/cursor.ts";
import { readHeader } from "../src/protocol/header.ts";
import {
  DecodeError,
  decode,
  decodeTextRecord,
  encode,
  encodeTextRecord,
  type Frame,
  joinFragments,
  TypeCode,
} from "../src/protocol/index.ts";
import { decodeText } from "../src/protocol/text-codec.ts";
import { canonicalBytes } from "../test/helpers/canonical.ts";
import { frame as frameArb } from "../test/protocol/arbitraries.ts";

// ---- arguments ---------------------------------------------------------------------------------

function usage(msg: string): never {
  process.stderr.write(
    `fuzz: ${msg}\nusage: bun scripts/fuzz.ts [--seed N] [--runs N] [--only WORD]\n`,
  );
  process.exit(2);
}
let seed = Math.floor(Math.random() * 0x7fffffff);
let runs = 100_000;
let only: string | undefined;
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--seed" || a === "--runs") {
      const n = Number(v);
      if (!Number.isInteger(n) || n < (a === "--runs" ? 1 : 0) || n > 0x7fffffff) {
        usage(`${a} needs an integer`);
      }
      if (a === "--seed") seed = n;
      else runs = n;
      i++;
    } else if (a === "--only") {
      if (!v) usage("--only needs a word");
      only = v;
      i++;
    } else usage(`unknown argument ${a}`);
  }
}
console.log(`fuzz: seed ${seed}, ${runs.toLocaleString("en")} runs per property`);

// ---- helpers -----------------------------------------------------------------------------------

/** A non-DecodeError exception: the finding. */
class Unexpected extends Error {}

/** Calls `fn`; DecodeError -> undefined; anything else escapes as a failure. */
function onlyDecodeError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw new Unexpected(`threw ${(e as Error)?.name}: ${(e as Error)?.message ?? String(e)}`);
  }
}

const KNOWN_TYPES = Object.values(TypeCode) as number[];

const differs = (a: Uint8Array, b: Uint8Array) =>
  a.length !== b.length || a.some((x, i) => x !== b[i]);

/** Whatever decodes must re-encode to the same bytes, modulo unknown flag bits (cleared). */
function checkCanonical(bytes: Uint8Array, f: Frame): void {
  if (differs(encode(f), canonicalBytes(bytes, f))) {
    throw new Unexpected(`decoded frame does not re-encode to its bytes: ${JSON.stringify(f)}`);
  }
}

function decodeChecked(bytes: Uint8Array): void {
  const f = onlyDecodeError(() => decode(bytes));
  if (f) checkCanonical(bytes, f);
}

const bytesArb = (maxLength: number) => fc.uint8Array({ maxLength });

/** A datagram that looks framed: magic, version (mostly 1), a type (mostly known), random rest. */
const framedLooking = fc
  .tuple(
    fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 255 })),
    fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.integer({ min: 0, max: 255 })),
    fc.integer({ min: 0, max: 255 }),
    bytesArb(1400),
  )
  .map(([v, t, flags, rest]) => Uint8Array.from([0xff, 0x4d, v, t, flags, ...rest]));

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; n: number }
  | { kind: "bump"; at: number; by: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 0x20, 0x21, 0x40, 0x7f, 0x80, 0xff),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 8 }),
  }),
  // a length/count field lying by a little
  fc.record({
    kind: fc.constant("bump" as const),
    at: fc.nat(),
    by: fc.constantFrom(-2, -1, 1, 2, 128),
  }),
);

function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(bytes);
  for (const m of ms) {
    const len = b.length;
    const at =
      len === 0 ? 0 : m.at % (len + (m.kind === "insert" || m.kind === "truncate" ? 1 : 0));
    switch (m.kind) {
      case "flip":
        if (len) b[at] = (b[at] ?? 0) ^ (1 << m.bit);
        break;
      case "set":
        if (len) b[at] = m.value;
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "insert":
        b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
        break;
      case "delete":
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)]);
        break;
      case "bump":
        if (len) b[at] = ((b[at] ?? 0) + m.by) & 0xff;
        break;
    }
  }
  return b;
}
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

// ---- properties --------------------------------------------------------------------------------

type AnyProperty = Parameters<typeof fc.check>[0];
const properties: { name: string; prop: AnyProperty }[] = [];
const add = (name: string, prop: AnyProperty) => properties.push({ name, prop });

add(
  "decode: random bytes",
  fc.property(bytesArb(1500), (b) => decodeChecked(b)),
);
add(
  "decode: framed-looking datagrams",
  fc.property(framedLooking, (b) => decodeChecked(b)),
);
add(
  "decode: mutated valid frames",
  fc.property(frameArb, mutations, (f, ms) => decodeChecked(mutate(encode(f), ms))),
);
add(
  "decode: valid frames spliced (prefix of one + suffix of another)",
  fc.property(frameArb, frameArb, fc.nat(), fc.nat(), (a, b, i, j) => {
    const x = encode(a);
    const y = encode(b);
    decodeChecked(
      Uint8Array.from([...x.subarray(0, i % (x.length + 1)), ...y.subarray(j % (y.length + 1))]),
    );
  }),
);
add(
  "readHeader: random and mutated headers (no catch-all around it)",
  fc.property(
    fc.oneof(
      bytesArb(40),
      fc.tuple(frameArb, mutations).map(([f, ms]) => mutate(encode(f), ms)),
    ),
    (b) => {
      onlyDecodeError(() => readHeader(new Reader(b)));
    },
  ),
);
add(
  "body codecs directly: every known type, random and mutated bodies (no catch-all)",
  fc.property(
    fc.oneof(
      fc.tuple(fc.constantFrom(...KNOWN_TYPES), fc.integer({ min: 0, max: 255 }), bytesArb(1400)),
      fc.tuple(frameArb, mutations).map(([f, ms]) => {
        const b = encode(f);
        return [b[3] as number, b[4] as number, mutate(b.subarray(17), ms)] as [
          number,
          number,
          Uint8Array,
        ];
      }),
    ),
    ([type, flags, body]) => {
      const codec = codecByCode.get(type);
      if (!codec) throw new Unexpected(`no codec for known type ${type}`);
      const header = { version: 1, type, flags, id: "0123456789abcdef", seq: 7 };
      onlyDecodeError(() => {
        const r = new Reader(body);
        const f = codec.decode(r, header);
        r.end();
        return f;
      });
    },
  ),
);
add(
  "decodeTextRecord: random and mutated TEXT bodies give a record or DecodeError",
  fc.property(
    fc.oneof(
      bytesArb(300),
      fc
        .tuple(fc.string({ maxLength: 200 }), mutations)
        .map(([t, ms]) =>
          mutate(
            encodeTextRecord({ action: false, nick: "n", time: 1, text: t.toWellFormed() }),
            ms,
          ),
        ),
    ),
    (body) => {
      const r = onlyDecodeError(() => decodeTextRecord(body));
      if (
        r &&
        differs(encodeTextRecord(r), body.subarray(0, body.length)) &&
        body[0] === (r.action ? 1 : 0)
      ) {
        throw new Unexpected(`a TEXT body does not re-encode to itself: ${JSON.stringify(r)}`);
      }
    },
  ),
);
add(
  "joinFragments: random payload lists give text or DecodeError",
  fc.property(fc.array(bytesArb(300), { maxLength: 8 }), (parts) => {
    onlyDecodeError(() => joinFragments(parts));
  }),
);
const ENCODINGS = [
  "utf8",
  "auto",
  "gbk",
  "gb18030",
  "big5",
  "shift_jis",
  "euc-jp",
  "euc-kr",
  "latin1",
  "windows-1252",
  "koi8-r",
  "utf16le",
];
add(
  "decodeText: legacy text in every encoding never throws",
  fc.property(bytesArb(1500), fc.constantFrom(...ENCODINGS), (b, enc) => {
    try {
      const s = decodeText(b, enc);
      if (typeof s !== "string") throw new Unexpected("not a string");
    } catch (e) {
      if (e instanceof Unexpected) throw e;
      throw new Unexpected(`decodeText(${enc}) threw ${(e as Error)?.message ?? String(e)}`);
    }
  }),
);

// Sealed frames: src/protocol/sealed.ts (openFrame(getKey, datagram) -> { salt, counter, inner }).
interface SealedModule {
  deriveSendKey(roomKey: Uint8Array, salt: Uint8Array): Uint8Array;
  sealFrame(sendKey: Uint8Array, salt: Uint8Array, counter: bigint, inner: Uint8Array): Uint8Array;
  openFrame(
    getKey: (salt: Uint8Array) => Uint8Array,
    datagram: Uint8Array,
  ): { salt: Uint8Array; counter: bigint; inner: Uint8Array };
  readSealedHeader(datagram: Uint8Array): { salt: Uint8Array; counter: bigint };
}
const SEALED_PATH = join(import.meta.dir, "../src/protocol/sealed.ts");
let sealedNote = "";
if (existsSync(SEALED_PATH)) {
  const sealed = (await import(SEALED_PATH)) as SealedModule;
  const roomKey = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const keys = new Map<string, Uint8Array>();
  const getKey = (salt: Uint8Array) => {
    const k = Buffer.from(salt).toString("hex");
    let key = keys.get(k);
    if (!key) {
      key = sealed.deriveSendKey(roomKey, salt);
      if (keys.size > 10_000) keys.clear();
      keys.set(k, key);
    }
    return key;
  };
  const salt = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const counter = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  /** A valid sealed datagram of a valid inner frame. */
  const sealedArb = fc.tuple(frameArb, salt, counter).map(([f, s, n]) => {
    const inner = encode(f);
    return { f, inner, bytes: sealed.sealFrame(getKey(s), s, n, inner) };
  });
  const mustNotOpen = (b: Uint8Array, what: string) => {
    const opened = onlyDecodeError(() => sealed.openFrame(getKey, b));
    if (opened) throw new Unexpected(`${what} opened: ${Buffer.from(b).toString("hex")}`);
  };
  add(
    "openFrame: random bytes never open, only DecodeError",
    fc.property(bytesArb(1500), (b) => mustNotOpen(b, "random bytes")),
  );
  add(
    "openFrame: random bytes behind a sealed header (FF 4D 01 40) never open",
    fc.property(salt, bytesArb(1400), (s, rest) =>
      mustNotOpen(
        Uint8Array.from([0xff, 0x4d, 0x01, 0x40, ...s, ...rest]),
        "forged sealed datagram",
      ),
    ),
  );
  add(
    "openFrame: a sealed frame opens to its inner frame; any mutation of it does not open",
    fc.property(sealedArb, mutations, ({ f, inner, bytes }, ms) => {
      const opened = onlyDecodeError(() => sealed.openFrame(getKey, bytes));
      if (!opened || differs(opened.inner, inner))
        throw new Unexpected("a valid sealed frame did not open");
      if (differs(encode(decode(opened.inner)), encode(f))) {
        throw new Unexpected("the opened inner frame is not the sealed one");
      }
      const m = mutate(bytes, ms);
      if (differs(m, bytes)) mustNotOpen(m, "mutated sealed datagram");
    }),
  );
  add(
    "openFrame: a getKey that throws or returns a bad key gives DecodeError",
    fc.property(sealedArb, fc.constantFrom("throw", "short", "long", "wrong"), ({ bytes }, how) => {
      const bad = (_s: Uint8Array): Uint8Array => {
        if (how === "throw") throw new TypeError("no key");
        if (how === "short") return new Uint8Array(16);
        if (how === "long") return new Uint8Array(64);
        return new Uint8Array(32).fill(7);
      };
      const opened = onlyDecodeError(() => sealed.openFrame(bad, bytes));
      if (opened) throw new Unexpected(`opened with a ${how} key`);
    }),
  );
  add(
    "readSealedHeader: random and mutated datagrams, only DecodeError",
    fc.property(
      fc.oneof(
        bytesArb(80),
        fc.tuple(sealedArb, mutations).map(([s, ms]) => mutate(s.bytes, ms)),
      ),
      (b) => {
        onlyDecodeError(() => sealed.readSealedHeader(b));
      },
    ),
  );
} else {
  sealedNote = "sealed frames: skipped (src/protocol/sealed.ts does not exist yet)";
}

// ---- run ---------------------------------------------------------------------------------------

let failed = 0;
const selected = properties.filter((p) => !only || p.name.includes(only));
if (selected.length === 0) usage(`no property matches --only ${only}`);
const t0 = performance.now();
for (const p of selected) {
  const s = (seed + properties.indexOf(p)) | 0;
  const start = performance.now();
  const r = fc.check(p.prop, {
    numRuns: runs,
    seed: s,
    endOnFailure: false,
  }) as fc.RunDetails<unknown>;
  const secs = ((performance.now() - start) / 1000).toFixed(1);
  if (r.failed) {
    failed++;
    console.log(`FAIL ${p.name} (seed ${s}, after ${r.numRuns} runs, ${secs} s)`);
    console.log(`  counterexample: ${fc.stringify(r.counterexample)}`);
    console.log(
      `  error: ${(r.errorInstance as Error | undefined)?.message ?? String(r.errorInstance)}`,
    );
    console.log(
      `  replay: bun scripts/fuzz.ts --seed ${seed} --only ${JSON.stringify(p.name.split(":")[0])} (path ${r.counterexamplePath})`,
    );
  } else {
    console.log(`ok   ${p.name} (${r.numRuns.toLocaleString("en")} runs, ${secs} s)`);
  }
}
if (sealedNote) console.log(sealedNote);
const total = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `fuzz: ${selected.length - failed} of ${selected.length} properties passed, ${failed} failed (seed ${seed}, ${runs.toLocaleString("en")} runs each, ${total} s)`,
);
process.exit(failed ? 1 : 0);
