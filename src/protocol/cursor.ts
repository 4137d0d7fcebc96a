import { DecodeError } from "./decode-error.ts";

/** Bounds-checked big-endian reader over one datagram. Every read past the end throws `truncated`. */
export class Reader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
    return this.view.getUint8(this.need(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.need(2, what));
  }

  u32(what: string): number {
    return this.view.getUint32(this.need(4, what));
  }

  /** Unsigned 48-bit big-endian integer (exact in a JS number). */
  u48(what: string): number {
    const at = this.need(6, what);
    return this.view.getUint16(at) * 2 ** 32 + this.view.getUint32(at + 2);
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

/** Big-endian writer into a buffer of known final length. */
export class Writer {
  readonly buf: Uint8Array;
  private pos = 0;
  private readonly view: DataView;

  constructor(length: number) {
    this.buf = new Uint8Array(length);
    this.view = new DataView(this.buf.buffer);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  u48(v: number): void {
    this.view.setUint16(this.pos, Math.floor(v / 2 ** 32));
    this.view.setUint32(this.pos + 2, v % 2 ** 32);
    this.pos += 6;
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
