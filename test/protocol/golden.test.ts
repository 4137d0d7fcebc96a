/**
 * Golden byte vectors (test/fixtures/*.json), checked by hand against PROTOCOL.md. If one of
 * these fails, the wire format changed: that breaks interoperability with deployed peers.
 * The v1.1 vectors are also built from PROTOCOL.md alone by test/fixtures/stream-vectors.py
 * (Python, no mcchat code), which is compared with frames.json here.
 */
import { describe, expect, test } from "bun:test";
import {
  DecodeError,
  decode,
  decodeTextRecord,
  encode,
  encodingLength,
  type Frame,
  type TextRecord,
} from "../../src/protocol/index.ts";
import validJson from "../fixtures/frames.json";
import invalidJson from "../fixtures/invalid-frames.json";

interface ValidCase {
  name: string;
  hex: string;
  decodeOnly?: boolean;
  /**
   * As a Frame, except that a message's payload is given as its text and a record's as
   * `{ "hex": "..." }`.
   */
  frame: Record<string, unknown>;
  /** A TEXT record's payload: what decodeTextRecord(payload) gives. */
  text?: TextRecord;
}

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const toFrame = (j: Record<string, unknown>): Frame => {
  if (j.type === "message") {
    return { ...j, payload: new TextEncoder().encode(j.payload as string) } as unknown as Frame;
  }
  if (j.type === "record") {
    return { ...j, payload: fromHex((j.payload as { hex: string }).hex) } as unknown as Frame;
  }
  return j as unknown as Frame;
};

const valid = validJson as ValidCase[];

describe("golden frames", () => {
  test("every frame type is covered", () => {
    const types = new Set(valid.map((c) => c.frame.type));
    expect([...types].sort()).toEqual(
      [
        "bye",
        "gone",
        "heartbeat",
        "hello",
        "history_req",
        "message",
        "nack",
        "report",
        "presence",
        "record",
        "stream_nack",
        "stream_gone",
        "stream_report",
      ].sort(),
    );
  });

  test("names are unique", () => {
    expect(new Set(valid.map((c) => c.name)).size).toBe(valid.length);
  });

  for (const c of valid) {
    test(`decode: ${c.name}`, () => {
      expect(decode(fromHex(c.hex))).toEqual(toFrame(c.frame));
    });
    if (!c.decodeOnly) {
      test(`encode: ${c.name}`, () => {
        const frame = toFrame(c.frame);
        expect(toHex(encode(frame))).toBe(c.hex);
        expect(encodingLength(frame)).toBe(c.hex.length / 2);
      });
    }
    const { text } = c;
    if (text !== undefined) {
      test(`TEXT record body: ${c.name}`, () => {
        const f = decode(fromHex(c.hex));
        if (f.type !== "record") throw new Error(`${c.name}: a text body on a ${f.type} frame`);
        expect(f.kind).toBe(1);
        expect(decodeTextRecord(f.payload)).toEqual(text);
      });
    }
  }
});

describe("golden invalid frames", () => {
  for (const c of invalidJson as { name: string; hex: string; reason: string }[]) {
    test(`${c.reason}: ${c.name}`, () => {
      let err: unknown;
      try {
        decode(fromHex(c.hex));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).reason).toBe(c.reason as DecodeError["reason"]);
    });
  }
});

describe("PROTOCOL.md examples", () => {
  test("every hex example in PROTOCOL.md is a golden frame", async () => {
    const md = await Bun.file(new URL("../../src/protocol/PROTOCOL.md", import.meta.url)).text();
    const blocks = [...md.matchAll(/```\n(ff[ 0-9a-f]+)\n/g)].map((m) =>
      (m[1] ?? "").replaceAll(" ", ""),
    );
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const known = new Set(valid.map((c) => c.hex));
    for (const hex of blocks) expect(known.has(hex)).toBe(true);
  });
});

describe("vectors built from PROTOCOL.md alone (test/fixtures/stream-vectors.py)", () => {
  const python = Bun.which("python3");
  const title = "every vector stream-vectors.py prints is in frames.json with the same bytes";
  test.skipIf(python === null)(
    python === null ? `${title} [skipped: python3 not found]` : title,
    () => {
      const script = new URL("../fixtures/stream-vectors.py", import.meta.url).pathname;
      const run = Bun.spawnSync([python as string, script], { stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.exitCode).toBe(0);
      const vectors = run.stdout
        .toString()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as { name: string; hex: string });
      expect(vectors.length).toBeGreaterThanOrEqual(14);
      const byName = new Map(valid.map((c) => [c.name, c.hex]));
      for (const v of vectors) expect({ name: v.name, hex: byName.get(v.name) }).toEqual(v);
    },
  );
});
