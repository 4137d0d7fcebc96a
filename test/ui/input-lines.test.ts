import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { byteLines, inputDecoder } from "../../src/ui/input-lines.ts";

const b = (...xs: number[]) => new Uint8Array(xs);

describe("inputDecoder", () => {
  test("UTF-8 is read as UTF-8 whatever the room encoding", () => {
    for (const enc of ["utf8", "auto", "gbk", "shift_jis", "koi8-r"]) {
      expect(inputDecoder(enc)(new TextEncoder().encode("日本 ok"), 1)).toEqual({
        text: "日本 ok",
        warnings: [],
      });
    }
  });
  test("auto falls back to GB18030 (as on receive)", () => {
    const d = inputDecoder("auto");
    const r = d(b(0xc4, 0xe3, 0xba, 0xc3), 3);
    expect(r.text).toBe("你好");
    expect(r.warnings).toEqual([
      "input line 3 is not UTF-8: reading such lines as GB18030 (the room encoding)",
    ]);
    expect(d(b(0xc4, 0xe3), 4)).toEqual({ text: "你", warnings: [] }); // said once
  });
  test("a Shift_JIS room; a single-byte room (koi8-r)", () => {
    expect(inputDecoder("shift_jis")(b(0x82, 0xa0), 1).text).toBe("あ");
    expect(inputDecoder("koi8-r")(b(0xd0, 0xd2, 0xc9), 1).text).toBe("при");
  });
  test("invalid everywhere: U+FFFD and a warning naming the line", () => {
    expect(inputDecoder("utf8")(b(0x61, 0xc3), 7)).toEqual({
      text: "a\uFFFD",
      warnings: ["line 7 is not valid UTF-8; sent with U+FFFD"],
    });
    expect(inputDecoder("big5")(b(0xff, 0xff), 2).warnings).toEqual([
      "line 2 is not valid UTF-8 nor BIG5; sent with U+FFFD",
    ]);
  });
  test("a room encoding that is not ASCII-compatible (UTF-16) is never guessed", () => {
    const r = inputDecoder("utf-16le")(b(0x61, 0x00), 1);
    expect(r.text).toBe("a\u0000"); // valid UTF-8, taken as such
    expect(inputDecoder("utf-16le")(b(0xff), 1).warnings).toEqual([
      "line 1 is not valid UTF-8; sent with U+FFFD",
    ]);
  });
});

describe("byteLines", () => {
  const collect = async (lines: AsyncIterable<Uint8Array>) => {
    const out: string[] = [];
    for await (const l of lines) out.push(Buffer.from(l).toString("latin1"));
    return out;
  };

  test("splits on LF, strips one CR, keeps an unterminated last line", async () => {
    const input = new PassThrough();
    const lines = byteLines(input);
    input.end("a\r\n\nb\r\r\nc");
    expect(await collect(lines)).toEqual(["a", "", "b\r", "c"]);
  });

  test("pauses input while far ahead of the reader, and gets every line", async () => {
    const input = new PassThrough();
    const lines = byteLines(input);
    const n = 5000;
    input.end(Array.from({ length: n }, (_, i) => `line ${i}\n`).join(""));
    let count = 0;
    let sawPaused = false;
    for await (const l of lines) {
      if (input.isPaused()) sawPaused = true;
      expect(Buffer.from(l).toString()).toBe(`line ${count}`);
      count++;
      await Promise.resolve();
    }
    expect(count).toBe(n);
    expect(sawPaused).toBe(true);
  });

  test("end() (a hung-up terminal): lines read so far, then the iteration ends", async () => {
    const input = new PassThrough();
    const lines = byteLines(input);
    input.write("one\ntw");
    await new Promise((r) => setImmediate(r));
    lines.end();
    input.write("three\n");
    expect(await collect(lines)).toEqual(["one", "tw"]);
  });
});

describe("byteLines of a web stream (how piped stdin is read: Bun.stdin.stream())", () => {
  const stream = (chunks: string[], close = true) => {
    let pulls = 0;
    const s = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks[pulls++];
        if (next !== undefined) c.enqueue(new TextEncoder().encode(next));
        else if (close) c.close();
      },
    });
    return { s, pulls: () => pulls };
  };
  const collect = async (lines: AsyncIterable<Uint8Array>) => {
    const out: string[] = [];
    for await (const l of lines) out.push(Buffer.from(l).toString("latin1"));
    return out;
  };

  test("lines across chunks, CR LF, an unterminated last line, then the end", async () => {
    const { s } = stream(["a\r", "\nb", "c\n\nd"]);
    expect(await collect(byteLines(s))).toEqual(["a", "bc", "", "d"]);
  });

  test("reads only as the lines are taken (no read-ahead past what is asked for)", async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => `line ${i}\n`);
    const { s, pulls } = stream(chunks);
    const it = byteLines(s)[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(new TextEncoder().encode("line 0"));
    // One line taken: the stream was asked for about that much, not all 100 chunks.
    expect(pulls()).toBeLessThan(10);
    let n = 1;
    while (!(await it.next()).done) n++;
    expect(n).toBe(100);
  });

  test("end() while waiting for input: what was read is yielded, then the iteration ends", async () => {
    const { s } = stream(["one\ntw"], false);
    const lines = byteLines(s);
    const got = collect(lines);
    await new Promise((r) => setTimeout(r, 10));
    lines.end();
    expect(await got).toEqual(["one", "tw"]);
  });
});
