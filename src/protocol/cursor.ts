import { DecodeError } from "./decode-error.ts";

/**
 * Bounds-checked big-endian reader over one datagram. Every read past the end throws `truncated`.
 * Reads bytes by index: no DataView (asking a small typed array for its `.buffer` makes the
 * engine give it a real ArrayBuffer, a copy per datagram).
 */
export class Reader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): number {
    if (this.remaining < n) throw new DecodeError("truncated", `${what} needs ${n} byte(s)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.buf[this.need(1, what)] as number;
  }

  u16(what: string): number {
    const at = this.need(2, what);
    const b = this.buf;
    return ((b[at] as number) << 8) | (b[at + 1] as number);
  }

  u32(what: string): number {
    const at = this.need(4, what);
    const b = this.buf;
    return (
      (b[at] as number) * 0x1000000 +
      (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
    );
  }

  /** Unsigned 48-bit big-endian integer (exact in a JS number). */
  u48(what: string): number {
    const at = this.need(6, what);
    const b = this.buf;
    const hi = ((b[at] as number) << 8) | (b[at + 1] as number);
    const lo =
      (b[at + 2] as number) * 0x1000000 +
      (((b[at + 3] as number) << 16) | ((b[at + 4] as number) << 8) | (b[at + 5] as number));
    return hi * 2 ** 32 + lo;
  }

  /** A copy of the next `n` bytes (never a view into the caller's, possibly pooled, buffer). */
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.buf.slice(at, at + n);
  }

  /** Asserts the whole datagram was consumed. */
  end(): void {
    if (this.remaining !== 0) {
      throw new DecodeError("trailing-bytes", `${this.remaining} unexpected byte(s) at the end`);
    }
  }
}

/** Big-endian writer into a buffer of known final length (by index, no DataView: see Reader). */
export class Writer {
  readonly buf: Uint8Array;
  private pos = 0;

  constructor(length: number) {
    this.buf = new Uint8Array(length);
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }

  u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }

  u48(v: number): void {
    this.u16(Math.floor(v / 2 ** 32));
    this.u32(v % 2 ** 32);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The finished frame; throws if the length computation and the writes disagree (a bug). */
  finish(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new Error(`frame length mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    }
    return this.buf;
  }
}
