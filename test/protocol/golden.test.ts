/**
 * Golden byte vectors (test/fixtures/*.json), checked by hand against PROTOCOL.md. If one of
 * these fails, the wire format changed: that breaks interoperability with deployed peers.
 */
import { describe, expect, test } from "bun:test";
import {
  DecodeError,
  decode,
  encode,
  encodingLength,
  type Frame,
} from "../../src/protocol/index.ts";
import validJson from "../fixtures/frames.json";
import invalidJson from "../fixtures/invalid-frames.json";

interface ValidCase {
  name: string;
  hex: string;
  decodeOnly?: boolean;
  /** As a Frame, except that a message's payload is given as its text. */
  frame: Record<string, unknown>;
}

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const toFrame = (j: Record<string, unknown>): Frame =>
  (j.type === "message"
    ? { ...j, payload: new TextEncoder().encode(j.payload as string) }
    : j) as unknown as Frame;

const valid = validJson as ValidCase[];

describe("golden frames", () => {
  test("every frame type is covered", () => {
    const types = new Set(valid.map((c) => c.frame.type));
    expect([...types].sort()).toEqual(
      ["bye", "gone", "heartbeat", "hello", "history_req", "message", "nack", "report"].sort(),
    );
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
