/**
 * Marks for output flow control (reports.ts): "once the output has consumed the event at
 * position `pos`, stream `s` has everything before `next`". One mark per delivery while a reader
 * is frozen is one per datagram: kept in typed arrays (a ring that grows), not as an object each
 * (100,000 of those were 10 MB of a frozen reader's memory).
 */
export class MarkQueue<S> {
  private pos = new Float64Array(1024);
  private next = new Uint32Array(1024);
  private streams: (S | undefined)[] = new Array(1024);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Adds a mark (positions never decrease); the same stream at the same position updates it. */
  push(pos: number, stream: S, next: number): void {
    if (this.size > 0) {
      const last = (this.head + this.size - 1) % this.pos.length;
      if (this.streams[last] === stream && this.pos[last] === pos) {
        this.next[last] = next;
        return;
      }
    }
    if (this.size === this.pos.length) this.grow();
    const at = (this.head + this.size) % this.pos.length;
    this.pos[at] = pos;
    this.next[at] = next;
    this.streams[at] = stream;
    this.size++;
  }

  /** Takes the marks at or before `consumed`, oldest first, calling `fn` for each. */
  take(consumed: number, fn: (stream: S, next: number) => void): void {
    while (this.size > 0 && (this.pos[this.head] as number) <= consumed) {
      const stream = this.streams[this.head] as S;
      const next = this.next[this.head] as number;
      this.streams[this.head] = undefined;
      this.head = (this.head + 1) % this.pos.length;
      this.size--;
      fn(stream, next);
    }
  }

  private grow(): void {
    const n = this.pos.length;
    const pos = new Float64Array(n * 2);
    const next = new Uint32Array(n * 2);
    const streams: (S | undefined)[] = new Array(n * 2);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % n;
      pos[i] = this.pos[from] as number;
      next[i] = this.next[from] as number;
      streams[i] = this.streams[from];
    }
    this.pos = pos;
    this.next = next;
    this.streams = streams;
    this.head = 0;
  }
}
