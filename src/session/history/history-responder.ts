/**
 * Answering a late joiner's HISTORY_REQ: one member answers for the room. The members that can
 * answer take turns in an order every member computes alike — a hash of (member id, request
 * id), so a different member goes first for each request — one HISTORY_SLOT_MS apart (far
 * longer than a LAN's delay), members holding fewer messages than asked after all the others.
 * A random wait (as in SRM) would let two members answer whenever their timers fell within one
 * network delay of each other.
 *
 * What keeps a member quiet is an answer it can vouch for, not just any answer: an answer
 * relays other members' lines, which anyone on the LAN can invent (PROTOCOL.md §11). It stays
 * quiet once it heard answer frames that agree with its own log and none that it disputes (an
 * invented or altered line under an instance it holds lines of: answer-verdict.ts). And when
 * another member relays lines under our own id, we still answer, with our own lines only: the
 * joiner can check those against our origin and prefers them to anyone's relay. Pure: time and
 * the member list are passed in.
 */

/** Gap between two members' turns to answer, ms. */
export const HISTORY_SLOT_MS = 20;
/**
 * A member answers at most one request per this many ms, and one requester at most once per
 * HISTORY_REQUESTER_GAP_MS: a flood of requests (51 bytes each) costs one bounded answer every
 * 5 s, not one per request (a second joiner within 5 s is answered by the member whose turn
 * comes next).
 */
export const HISTORY_ANSWER_GAP_MS = 5000;
export const HISTORY_REQUESTER_GAP_MS = 30_000;
/**
 * One answer holds at most this many messages and bytes (payload): a joiner wants context, not
 * an archive, and one 51-byte request must not cost more than ~16 KiB.
 */
export const HISTORY_ANSWER_MAX = 50;
export const HISTORY_ANSWER_MAX_BYTES = 16 * 1024;
/**
 * Requesters remembered for HISTORY_REQUESTER_GAP_MS, at most (as many as the member table,
 * peer-table.ts MAX_PEERS). Past it the oldest is forgotten: it may be answered again sooner,
 * still bounded by HISTORY_ANSWER_GAP_MS to anyone.
 */
export const MAX_REQUESTERS = 4096;
/** Request ids remembered (answered once each). */
const MAX_REMEMBERED = 1000;

/** FNV-1a over the text: the same on every member. */
function rankHash(id: string, requestId: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${id}:${requestId}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Our turn among `members` (ourselves included) for this request: 0 goes first. */
export function historyTurn(self: string, members: readonly string[], requestId: number): number {
  const mine = rankHash(self, requestId);
  let turn = 0;
  for (const m of members) {
    if (m === self) continue;
    const h = rankHash(m, requestId);
    if (h < mine || (h === mine && m < self)) turn++;
  }
  return turn;
}

/** What to send when our turn comes: the room's last `count` lines, or only our own among them. */
export interface HistoryAnswer {
  count: number;
  ownOnly: boolean;
}

export class HistoryResponder {
  private pending?: {
    at: number;
    count: number;
    /** Heard answer frames that agree with our log. */
    agreed: boolean;
    /** Heard an answer frame our log contradicts. */
    disputed: boolean;
    /** Heard another member relay lines under our id. */
    relayedUs: boolean;
  };
  private readonly answered = new Set<number>();
  /** Requester id -> when we last answered it; and when we last answered anyone. */
  private readonly lastFor = new Map<string, number>();
  /**
   * When we last answered for the room, and last with our own lines only: each at most once per
   * HISTORY_ANSWER_GAP_MS, apart, so answering for ourselves never leaves the next joiner
   * without an answer for the room (and a flood costs at most both per gap).
   */
  private lastAnswer = Number.NEGATIVE_INFINITY;
  private lastOwn = Number.NEGATIVE_INFINITY;
  /** Requests not answered because they came too soon (HISTORY_ANSWER_GAP_MS and friends). */
  refused = 0;

  constructor(private readonly self: string) {}

  /**
   * Someone asks for `count` messages; we hold `held`; `members` are the ids of the members
   * present now (ourselves included).
   */
  request(
    count: number,
    requestId: number,
    held: number,
    members: readonly string[],
    now: number,
    requester?: string,
  ): void {
    if (this.answered.has(requestId) || held === 0) return;
    const last = requester === undefined ? undefined : this.lastFor.get(requester);
    if (
      now - this.lastAnswer < HISTORY_ANSWER_GAP_MS ||
      (last !== undefined && now - last < HISTORY_REQUESTER_GAP_MS)
    ) {
      this.refused++;
      return;
    }
    if (requester !== undefined) {
      if (this.lastFor.size >= MAX_REQUESTERS) {
        this.lastFor.delete(this.lastFor.keys().next().value as string);
      }
      this.lastFor.delete(requester);
      this.lastFor.set(requester, now);
    }
    if (this.answered.size >= MAX_REMEMBERED) this.answered.clear();
    this.answered.add(requestId);
    const turn = historyTurn(this.self, members, requestId);
    // Members that cannot give everything asked for wait until all the others had their turn.
    const after = held >= count ? 0 : members.length;
    this.pending = {
      at: now + (after + turn) * HISTORY_SLOT_MS,
      count,
      agreed: false,
      disputed: false,
      relayedUs: false,
    };
  }

  /** Whether an answer of ours is pending (only then are heard answers worth judging). */
  get judging(): boolean {
    return this.pending !== undefined && !this.pending.disputed;
  }

  /**
   * A member's HISTORY frame was heard: what our log says of it, and whether it carries our
   * own instance id (another member relaying our lines).
   */
  heardAnswer(verdict: "agrees" | "disputes" | "unknown", ours = false): void {
    const p = this.pending;
    if (!p) return;
    if (verdict === "agrees") p.agreed = true;
    else if (verdict === "disputes") p.disputed = true;
    if (ours) p.relayedUs = true;
  }

  get deadline(): number | undefined {
    return this.pending?.at;
  }

  /** What to send now, or undefined (not yet, or another member answered faithfully). */
  due(now: number): HistoryAnswer | undefined {
    const p = this.pending;
    if (!p || now < p.at) return undefined;
    this.pending = undefined;
    const count = Math.min(p.count, HISTORY_ANSWER_MAX);
    const quiet = p.agreed && !p.disputed;
    if (!quiet && now - this.lastAnswer >= HISTORY_ANSWER_GAP_MS) {
      this.lastAnswer = now;
      return { count, ownOnly: false };
    }
    // Another member answered for the room (or we did so too recently) and relayed our lines:
    // our own, first-hand, at most once per gap.
    if (p.relayedUs && now - this.lastOwn >= HISTORY_ANSWER_GAP_MS) {
      this.lastOwn = now;
      return { count, ownOnly: true };
    }
    return undefined;
  }
}
