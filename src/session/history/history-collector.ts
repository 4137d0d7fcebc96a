import { RecordKind } from "../../protocol/constants.ts";
import { joinBody, joinFragments } from "../../protocol/fragment.ts";
import { seqAdd } from "../../protocol/seq.ts";
import { decodeTextRecord } from "../../protocol/text-record.ts";
import type { MessageFrame, RecordFrame } from "../../protocol/types.ts";
import type { HistoryRecord } from "../feature.ts";

/** The member an answer came from (its instance id, nick and address:port). */
export interface Answerer {
  id: string;
  nick: string;
  from: string;
}

/** A history record as collected: first-hand (from its own sender), or relayed by `via`. */
export interface CollectedRecord {
  record: HistoryRecord;
  /** The member that re-sent another member's line; absent when the line's sender sent it. */
  via?: Answerer;
}

/**
 * Collects HISTORY answers for a late joiner: members answer with the room's recent text
 * records (all fragments; RECORD frames, or a 0.2 member's MESSAGE frames); after the wait, the
 * last `count` whole records are shown once, in the order the answers listed them (the
 * answering members' order of delivery: no sender's clock is compared).
 *
 * An answer re-sends other members' lines under their ids, and anyone on the LAN can make one
 * up (PROTOCOL.md §11). A record is first-hand only when the member that sent it is the line's
 * own sender: it came from the address:port that instance speaks from. Any other is relayed,
 * and says by whom. A first-hand version of a line wins over a relayed one, and once a sender
 * answered for itself, relayed lines in its name that it did not send are left out.
 */
export class HistoryCollector {
  /** Answer frames by "source id/seq": each answer's fragments are joined with its own. */
  private readonly frames = new Map<string, MessageFrame | RecordFrame>();
  /** Where each answer frame came from. */
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
    const key = frameKey(from, f.id, f.seq);
    if (this.frames.has(key)) return;
    this.frames.set(key, f);
    this.sources.set(key, from);
  }

  due(now: number): boolean {
    return now >= this.deadline;
  }

  /**
   * Whole records, oldest first, at most `count`, from the answers of the members `memberAt`
   * knows (by now the answerer's presence frames have arrived, even if its answer overtook
   * them). Undecodable ones are left out.
   */
  result(memberAt: (from: string) => Answerer | undefined = () => undefined): CollectedRecord[] {
    const byLine = new Map<string, CollectedRecord>();
    /** Senders that answered for themselves. */
    const firstHand = new Set<string>();
    for (const [key, f] of this.frames) {
      if (f.fragIndex !== 0) continue;
      const from = this.sources.get(key) ?? "";
      const answerer = memberAt(from);
      if (!answerer) continue;
      const parts = [f];
      for (let i = 1; i < f.fragCount; i++) {
        const next = this.frames.get(frameKey(from, f.id, seqAdd(f.seq, i)));
        if (!next || next.type !== f.type || next.fragIndex !== i) break;
        parts.push(next);
      }
      if (parts.length !== f.fragCount) continue;
      let value: HistoryRecord["value"];
      try {
        value = recordValue(parts);
      } catch {
        continue; // Not a text record: an answer from a damaged or hostile source.
      }
      const own = answerer.id === f.id;
      if (own) firstHand.add(f.id);
      const line = `${f.id}/${f.seq}`;
      const had = byLine.get(line);
      const got = { record: { id: f.id, seq: f.seq, value }, via: own ? undefined : answerer };
      // First come keeps its place in the order; a first-hand version replaces a relayed one.
      if (!had) byLine.set(line, got);
      else if (had.via && own) {
        had.record = got.record;
        had.via = undefined;
      }
    }
    const out = [...byLine.values()].filter((c) => !c.via || !firstHand.has(c.record.id));
    return out.slice(-this.count);
  }
}

function frameKey(from: string, id: string, seq: number): string {
  return `${from} ${id}/${seq}`;
}

function recordValue(parts: (MessageFrame | RecordFrame)[]) {
  const head = parts[0] as MessageFrame | RecordFrame;
  if (head.type === "message") {
    const text = joinFragments(parts.map((p) => p.payload));
    return { action: head.action, nick: head.nick, time: head.time, text };
  }
  return decodeTextRecord(joinBody(parts.map((p) => p.payload)));
}
