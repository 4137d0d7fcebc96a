import type { MessageFrame, SeqRange } from "../protocol/index.ts";
import { seqAdd, seqDiff } from "../protocol/index.ts";

export interface PeerClock {
  now(): number;
  random(): number;
  /** When this session joined (ms): instances started before it are not back-filled. */
  joinedAt: number;
}

/** What a peer hands to the session: whole messages in order, datagrams lost, NACKs to send. */
export interface PeerOutput {
  messages: MessageFrame[][];
  lost: number;
}

/**
 * One remote sender instance: presence, ordered delivery and reassembly of its
 * fragments. (Repair logic arrives with the receiver window.)
 */
export class Peer {
  nick = "";
  present = false;
  gone = false;
  lastSeen: number;
  private next?: number;
  private readonly held = new Map<number, MessageFrame>();
  private partial: MessageFrame[] = [];

  constructor(
    readonly id: string,
    public from: string,
    private readonly clock: PeerClock,
  ) {
    this.lastSeen = clock.now();
  }

  /** HELLO/HEARTBEAT/BYE: the instance's start time and tail. */
  onControl(started: number, tail: number): PeerOutput {
    if (this.next === undefined) {
      this.next = started >= this.clock.joinedAt ? 0 : seqAdd(tail, 1);
    }
    return this.drain();
  }

  onMessage(f: MessageFrame): PeerOutput {
    if (this.next === undefined) this.next = seqAdd(f.seq, -f.fragIndex);
    if (seqDiff(f.seq, this.next) < 0 || this.held.has(f.seq)) return { messages: [], lost: 0 };
    this.held.set(f.seq, f);
    return this.drain();
  }

  onNackHeard(_ranges: SeqRange[]): void {}

  onGone(_ranges: SeqRange[]): PeerOutput {
    return { messages: [], lost: 0 };
  }

  giveUp(): PeerOutput {
    const lost = this.held.size;
    this.held.clear();
    return { messages: [], lost };
  }

  poll(): PeerOutput & { nacks: SeqRange[][] } {
    return { messages: [], lost: 0, nacks: [] };
  }

  private drain(): PeerOutput {
    const messages: MessageFrame[][] = [];
    if (this.next === undefined) return { messages, lost: 0 };
    for (;;) {
      const f = this.held.get(this.next);
      if (!f) break;
      this.held.delete(this.next);
      this.next = seqAdd(this.next, 1);
      this.assemble(f, messages);
    }
    return { messages, lost: 0 };
  }

  private assemble(f: MessageFrame, out: MessageFrame[][]): void {
    if (f.fragIndex === 0) this.partial = [];
    if (f.fragIndex !== this.partial.length) {
      this.partial = [];
      return;
    }
    this.partial.push(f);
    if (this.partial.length === f.fragCount) {
      out.push(this.partial);
      this.partial = [];
    }
  }
}
