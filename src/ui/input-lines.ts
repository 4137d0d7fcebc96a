/**
 * Lines of piped input as bytes, and their decoding. Input is read as UTF-8, as
 * output is written. A line that is not valid UTF-8 is read in the room's encoding
 * (`-e`; GB18030 for `auto`) when it is valid there, said once on stderr: a GBK file
 * piped into a GBK room arrives as written. Otherwise the bad bytes become U+FFFD and
 * a warning names the line. Never a crash, never a silent U+FFFD.
 */
import type { Readable } from "node:stream";
import iconv from "iconv-lite";

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const utf8Lossy = new TextDecoder("utf-8");

/** True when `encoding` writes ASCII (and so "\n") as the same single bytes. */
function asciiCompatible(encoding: string): boolean {
  try {
    const probe = iconv.encode("A\n", encoding, { addBOM: false });
    return probe.length === 2 && probe[0] === 0x41 && probe[1] === 0x0a;
  } catch {
    return false;
  }
}

/** True when `bytes` is valid text in `encoding` (an iconv-lite name). */
function validIn(bytes: Uint8Array, encoding: string): boolean {
  let fatal: TextDecoder | undefined;
  try {
    // Bun's types list only its own labels; any other throws a RangeError here.
    fatal = new TextDecoder(encoding as ConstructorParameters<typeof TextDecoder>[0], {
      fatal: true,
    });
  } catch {
    // Not a WHATWG encoding Bun knows: a clean round trip through iconv-lite is the test.
  }
  if (fatal) {
    try {
      fatal.decode(bytes);
      return true;
    } catch {
      return false;
    }
  }
  const buf = Buffer.from(bytes);
  return iconv.encode(iconv.decode(buf, encoding), encoding).equals(buf);
}

export interface DecodedLine {
  text: string;
  /** One-line notes for stderr (without the "mcchat: warning: " prefix). */
  warnings: string[];
}

/**
 * A decoder for input lines in a room whose wire encoding is `encoding` (text-codec's
 * names: "utf8", "auto", "gbk"...). `lineNo` (1-based) is used in warnings.
 */
export function inputDecoder(encoding: string): (bytes: Uint8Array, lineNo: number) => DecodedLine {
  const other = encoding === "auto" ? "gb18030" : encoding === "utf8" ? undefined : encoding;
  const fallback = other !== undefined && asciiCompatible(other) ? other : undefined;
  let noted = false;
  return (bytes, lineNo) => {
    try {
      return { text: utf8Fatal.decode(bytes), warnings: [] };
    } catch {
      // Not UTF-8: below.
    }
    if (fallback && validIn(bytes, fallback)) {
      const warnings = noted
        ? []
        : [
            `input line ${lineNo} is not UTF-8: reading such lines as ${fallback.toUpperCase()} (the room encoding)`,
          ];
      noted = true;
      return { text: iconv.decode(Buffer.from(bytes), fallback), warnings };
    }
    const nor = fallback ? ` nor ${fallback.toUpperCase()}` : "";
    return {
      text: utf8Lossy.decode(bytes),
      warnings: [`line ${lineNo} is not valid UTF-8${nor}; sent with U+FFFD`],
    };
  };
}

/** Byte lines of a stream (without "\n" or "\r\n"); bounded read-ahead. */
export interface ByteLines extends AsyncIterable<Uint8Array> {
  /**
   * Stop reading (a hung-up terminal, or leaving): lines already read (and an
   * unterminated last one) are still yielded, then the iteration ends; input is paused.
   */
  end(): void;
}

/** Complete lines kept before the input is paused until the reader catches up. */
const READ_AHEAD = 1024;

/**
 * Byte lines of `input`: a Node stream (paused while READ_AHEAD lines wait), or a web
 * ReadableStream (read only while fewer wait). Pass process.stdin as `Bun.stdin.stream()`:
 * Bun's process.stdin on a pipe, paused and resumed, sometimes never emits 'end' (seen: a sender
 * that had sent every line waited forever for EOF; oven-sh/bun#43100, #34613).
 */
export function byteLines(input: Readable | ReadableStream<Uint8Array>): ByteLines {
  return input instanceof ReadableStream ? webLines(input) : nodeLines(input);
}

/** Splits chunks into lines: `chunk` a piece of input, `finish` at its end. */
function lineSplitter(push: (line: Uint8Array) => void) {
  let partial: Buffer[] = [];
  const line = (piece: Buffer) => {
    const n = piece.length;
    push(n > 0 && piece[n - 1] === 0x0d ? piece.subarray(0, n - 1) : piece);
  };
  return {
    chunk(chunk: Buffer | Uint8Array | string) {
      const buf =
        typeof chunk === "string"
          ? Buffer.from(chunk, "utf8")
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
        const piece = buf.subarray(start, nl);
        if (partial.length > 0) {
          partial.push(piece);
          line(Buffer.concat(partial));
          partial = [];
        } else line(piece);
        start = nl + 1;
      }
      if (start < buf.length) partial.push(buf.subarray(start));
    },
    finish() {
      if (partial.length > 0) line(Buffer.concat(partial));
      partial = [];
    },
  };
}

/** Lines of a web stream, pulled only while fewer than READ_AHEAD wait. */
function webLines(input: ReadableStream<Uint8Array>): ByteLines {
  const queue: Uint8Array[] = [];
  const split = lineSplitter((l) => queue.push(l));
  const reader = input.getReader();
  let ended = false;
  const stop = () => {
    if (ended) return;
    ended = true;
    split.finish();
    reader.cancel().catch(() => {});
  };
  return {
    end: stop,
    async *[Symbol.asyncIterator]() {
      let head = 0;
      while (true) {
        if (head < queue.length) {
          const line = queue[head++] as Uint8Array;
          if (head === queue.length || head >= READ_AHEAD) {
            queue.splice(0, head);
            head = 0;
          }
          yield line;
          continue;
        }
        if (ended) return;
        let chunk: Uint8Array | undefined;
        try {
          const r = await reader.read();
          chunk = r.done ? undefined : r.value;
        } catch {
          // A dead terminal or pipe: the end of input.
        }
        if (ended) continue; // end() was called while we waited: what is queued is still yielded
        if (chunk === undefined) {
          ended = true;
          split.finish();
        } else split.chunk(chunk);
      }
    },
  };
}

function nodeLines(input: Readable): ByteLines {
  const queue: Uint8Array[] = [];
  let head = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const split = lineSplitter((l) => queue.push(l));
  const onData = (chunk: Buffer | string) => {
    if (ended) return;
    split.chunk(chunk);
    if (queue.length - head >= READ_AHEAD) input.pause();
    notify();
  };
  const onEnd = () => {
    split.finish();
    stop();
  };
  const stop = () => {
    if (ended) return;
    ended = true;
    input.removeListener("data", onData);
    input.removeListener("end", onEnd);
    try {
      input.pause();
    } catch {
      // A dead terminal.
    }
    notify();
  };
  input.on("data", onData);
  input.on("end", onEnd);
  return {
    end: onEnd,
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (head < queue.length) {
          const line = queue[head++] as Uint8Array;
          if (head === queue.length || head >= READ_AHEAD) {
            queue.splice(0, head);
            head = 0;
          }
          if (!ended && input.isPaused() && queue.length - head < READ_AHEAD / 2) input.resume();
          yield line;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
