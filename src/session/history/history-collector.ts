import { RecordKind } from "../../protocol/constants.ts";
import { joinBody, joinFragments } from "../../protocol/fragment.ts";
import { seqAdd } from "../../protocol/seq.ts";
import { decodeTextRecord } from "../../protocol/text-record.ts";
import type { MessageFrame, RecordFrame } from "../../protocol/types.ts";
import type { HistoryRecord } from "../feature.ts";

/**
 * Collects HISTORY answers for a late joiner: a member answers with the room's recent text
 * records (all fragments; RECORD frames, or a 0.2 member's MESSAGE frames); after the wait, the
 * last `count` whole records are shown once, in the order the answer listed them (the answering
 * member's order of delivery: no sender's clock is compared).
 */
export class HistoryCollector {
  private readonly frames = new Map<string, MessageFrame | RecordFrame>();
  /** Where each answer frame came from: only members' answers are shown. */
  private readonly sources = new Map<string, string>();

  constructor(
    private readonly count: number,
    readonly deadline: number,
    private readonly maxFrames = 64 * 1024,
  ) {}

  /** An answer frame heard from `from` (address:port). Only text records are history. */
  add(f: MessageFrame | RecordFrame, from = ""): void {
    if (f.type === "record" && (f.kind !== RecordKind.text || f.stream !== 0)) return;
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
   * Whole records, oldest first, at most `count`, from the answers of sources `fromMember`
   * accepts (by now the answerer's presence frames have arrived, even if its answer overtook
   * them). Undecodable ones are left out.
   */
  result(fromMember: (from: string) => boolean = () => true): HistoryRecord[] {
    const out: HistoryRecord[] = [];
    for (const [key, f] of this.frames) {
      if (f.fragIndex !== 0 || !fromMember(this.sources.get(key) ?? "")) continue;
      const parts = [f];
      for (let i = 1; i < f.fragCount; i++) {
        const next = this.frames.get(`${f.id}/${seqAdd(f.seq, i)}`);
        if (!next || next.type !== f.type || next.fragIndex !== i) break;
        parts.push(next);
      }
      if (parts.length !== f.fragCount) continue;
      try {
        out.push({ id: f.id, seq: f.seq, value: recordValue(parts) });
      } catch {
        // Not a text record: an answer from a damaged or hostile source.
      }
    }
    return out.slice(-this.count);
  }
}

function recordValue(parts: (MessageFrame | RecordFrame)[]) {
  const head = parts[0] as MessageFrame | RecordFrame;
  if (head.type === "message") {
    const text = joinFragments(parts.map((p) => p.payload));
    return { action: head.action, nick: head.nick, time: head.time, text };
  }
  return decodeTextRecord(joinBody(parts.map((p) => p.payload)));
}
