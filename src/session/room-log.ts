import type { MessageFrame } from "../protocol/index.ts";

/**
 * The room's recent framed messages as this member saw them (its own and everyone
 * else's, whole), in the order it saw them (no sender's clock is trusted for ordering),
 * bounded by count and bytes, without duplicates. It answers a late joiner's HISTORY_REQ, so history survives the
 * departure of the original senders.
 */
export class RoomLog {
  private readonly messages: MessageFrame[][] = [];
  /** Seqs held per instance id (cheaper than an "id/seq" string per message). */
  private readonly keys = new Map<string, Set<number>>();
  private bytes = 0;

  constructor(
    private readonly maxMessages = 200,
    private readonly maxBytes = 512 * 1024,
  ) {}

  get size(): number {
    return this.messages.length;
  }

  add(parts: MessageFrame[]): void {
    const head = parts[0];
    if (!head || this.has(head)) return;
    this.messages.push(parts);
    let seqs = this.keys.get(head.id);
    if (!seqs) {
      seqs = new Set();
      this.keys.set(head.id, seqs);
    }
    seqs.add(head.seq);
    this.bytes += weight(parts);
    while (
      this.messages.length > this.maxMessages ||
      (this.bytes > this.maxBytes && this.messages.length > 1)
    ) {
      const old = this.messages.shift() as MessageFrame[];
      const first = old[0] as MessageFrame;
      const seqs = this.keys.get(first.id);
      seqs?.delete(first.seq);
      if (seqs?.size === 0) this.keys.delete(first.id);
      this.bytes -= weight(old);
    }
  }

  private has(f: MessageFrame): boolean {
    return this.keys.get(f.id)?.has(f.seq) === true;
  }

  /** The last `n` messages, oldest first, at most `maxBytes` of text together. */
  recent(n: number, maxBytes = Number.POSITIVE_INFINITY): MessageFrame[][] {
    const out: MessageFrame[][] = [];
    let bytes = 0;
    for (let i = this.messages.length - 1; i >= 0 && out.length < n; i--) {
      const m = this.messages[i] as MessageFrame[];
      bytes += m.reduce((a, f) => a + f.payload.length, 0);
      if (bytes > maxBytes && out.length > 0) break;
      out.push(m);
    }
    return out.reverse();
  }
}

function weight(parts: MessageFrame[]): number {
  let n = 0;
  for (const f of parts) n += f.payload.length + 64;
  return n;
}
