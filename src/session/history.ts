import type { MessageFrame } from "../protocol/index.ts";
import { seqAdd } from "../protocol/index.ts";

/**
 * Collects HISTORY answers for a late joiner: members answer with their own recent
 * messages (all fragments); after the wait, the last `count` whole messages of the
 * room are shown once, in the order the answer listed them (the answering member's
 * order of delivery: no sender's clock is compared).
 */
export class HistoryCollector {
  private readonly frames = new Map<string, MessageFrame>();

  constructor(
    private readonly count: number,
    readonly deadline: number,
    private readonly maxFrames = 64 * 1024,
  ) {}

  add(f: MessageFrame): void {
    if (this.frames.size >= this.maxFrames) return;
    this.frames.set(`${f.id}/${f.seq}`, f);
  }

  due(now: number): boolean {
    return now >= this.deadline;
  }

  /** Whole messages (fragments in order), oldest first, at most `count`. */
  result(): MessageFrame[][] {
    const messages: MessageFrame[][] = [];
    for (const f of this.frames.values()) {
      if (f.fragIndex !== 0) continue;
      const parts: MessageFrame[] = [f];
      for (let i = 1; i < f.fragCount; i++) {
        const next = this.frames.get(`${f.id}/${seqAdd(f.seq, i)}`);
        if (!next || next.fragIndex !== i) break;
        parts.push(next);
      }
      if (parts.length === f.fragCount) messages.push(parts);
    }
    return messages.slice(-this.count);
  }
}
