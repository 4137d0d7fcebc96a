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
  /** Where each answer frame came from: only members' answers are shown. */
  private readonly sources = new Map<string, string>();

  constructor(
    private readonly count: number,
    readonly deadline: number,
    private readonly maxFrames = 64 * 1024,
  ) {}

  /** An answer frame heard from `from` (address:port). */
  add(f: MessageFrame, from = ""): void {
    if (this.frames.size >= this.maxFrames) return;
    const key = `${f.id}/${f.seq}`;
    if (this.frames.has(key)) return;
    this.frames.set(key, f);
    this.sources.set(key, from);
  }

  due(now: number): boolean {
    return now >= this.deadline;
  }

  /**
   * Whole messages (fragments in order), oldest first, at most `count`, from the answers of
   * sources `fromMember` accepts (by now the answerer's presence frames have arrived, even if
   * its answer overtook them).
   */
  result(fromMember: (from: string) => boolean = () => true): MessageFrame[][] {
    const messages: MessageFrame[][] = [];
    for (const [key, f] of this.frames) {
      if (f.fragIndex !== 0 || !fromMember(this.sources.get(key) ?? "")) continue;
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
