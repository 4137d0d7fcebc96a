/**
 * Answering a late joiner's HISTORY_REQ: exactly one member answers. Each member that can
 * answer waits a random time (members holding enough messages first) and stays quiet if it
 * hears any HISTORY frame meanwhile — including frames that carry its own instance id (another
 * member re-sending our old messages is still an answer). Pure: time and randomness passed in.
 */

/** Wait before answering, ms: [holding enough messages, holding fewer, random spread]. */
export const HISTORY_ANSWER_MS: [full: number, partial: number, spread: number] = [0, 60, 60];
/** Request ids remembered (answered once each). */
const MAX_REMEMBERED = 1000;

export class HistoryResponder {
  private pending?: { at: number; count: number };
  private readonly answered = new Set<number>();

  /** Someone asks for `count` messages; we hold `held`. */
  request(count: number, requestId: number, held: number, now: number, random: number): void {
    if (this.answered.has(requestId) || held === 0) return;
    if (this.answered.size >= MAX_REMEMBERED) this.answered.clear();
    this.answered.add(requestId);
    const [full, partial, spread] = HISTORY_ANSWER_MS;
    this.pending = { at: now + (held >= count ? full : partial) + random * spread, count };
  }

  /** A HISTORY frame was heard: another member is answering. */
  heardAnswer(): void {
    this.pending = undefined;
  }

  get deadline(): number | undefined {
    return this.pending?.at;
  }

  /** How many messages to send now, or undefined. */
  due(now: number): number | undefined {
    if (!this.pending || now < this.pending.at) return undefined;
    const { count } = this.pending;
    this.pending = undefined;
    return count;
  }
}
