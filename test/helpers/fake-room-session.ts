/**
 * A RoomSession for tests of the room controller and its clients: no network, no session
 * internals. Events go to the EventSink the room gives it (emit()); send/setNick/drain/close
 * are recorded, and can be made to fail or to wait.
 */
import type { EventSink } from "../../src/session/event-sink.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { DrainResult, RoomSession, SendResult } from "../../src/session/room-session.ts";

export type FakeMember = ReturnType<RoomSession["members"]>[number];
export type FakeStats = RoomSession["stats"];

export const FAKE_ID = "a1a1a1a1a1a1a1a1";

export class FakeRoomSession implements RoomSession {
  id = FAKE_ID;
  nick = "alice";
  framed = true;
  encrypted = false;
  /** Whatever counters a test wants shown (only numbers are). */
  stats = { sent: 0, received: 0 } as unknown as FakeStats;
  /** The other members (members() puts ourselves first). */
  others: FakeMember[] = [];
  sent: { text: string; action?: boolean }[] = [];
  nicks: string[] = [];
  started = 0;
  closed = 0;
  drains = 0;
  /** send() throws this (once set). */
  fail?: Error;
  /** send() waits for this before sending (a full flow-control window). */
  gate?: Promise<void>;
  /** What drain() resolves with; a never-settling promise makes it hang. */
  drainResult: () => Promise<DrainResult> = async () => ({ behind: [] });
  /** Our own messages come back as events (as a real session echoes them). */
  echo = true;
  /** Wall-clock ms for event times and members' lastSeen. */
  now = () => 0;

  constructor(readonly events: EventSink) {}

  /** An event from the network, as the session would emit it. */
  emit(e: SessionEvent): void {
    this.events.emit(e);
  }

  on(_listener: (e: SessionEvent) => void): () => void {
    throw new Error("the room's clients subscribe to the room, not to the session");
  }

  /** When we took our nick (MemberInfo nickSince); set by tests of who keeps a nick plain. */
  nickSince?: number;

  members(): FakeMember[] {
    const self: FakeMember = {
      id: this.id,
      nick: this.nick,
      from: "self",
      lastSeen: this.now(),
      self: true,
    };
    if (this.nickSince !== undefined) self.nickSince = this.nickSince;
    return [self, ...this.others];
  }

  async start(): Promise<void> {
    this.started++;
  }

  async setNick(nick: string): Promise<void> {
    this.nicks.push(nick);
    this.nick = nick;
  }

  async send(text: string, opts: { action?: boolean } = {}): Promise<SendResult> {
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    this.sent.push({ text, ...(opts.action ? { action: true } : {}) });
    const seq = this.sent.length - 1;
    const counters = this.stats as unknown as Record<string, number>;
    if (typeof counters.sent === "number") counters.sent++;
    if (this.echo) {
      this.emit({
        type: "message",
        time: new Date(this.now()),
        from: "self",
        text,
        nick: this.nick,
        id: this.id,
        self: true,
        action: opts.action || undefined,
      });
    }
    return {
      id: this.id,
      stream: 0,
      seq,
      fragments: 1,
      delivery: async () => ({ reached: [], missed: [] }),
    };
  }

  drain(): Promise<DrainResult> {
    this.drains++;
    return this.drainResult();
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
