/**
 * Fragments held by all inbound streams of a session together: before a start point, out of
 * order in a receive window, and in partly reassembled records. A flood of fragments from
 * made-up senders cannot grow memory beyond it; one-fragment records in order are never held, so
 * real chat passes a full budget (a long record that finds it full is reported lost).
 */
export class HoldBudget {
  used = 0;
  /** Fragments not held because the budget (or a stream's share) was full. */
  refused = 0;
  constructor(
    readonly max = 16384,
    /** One stream's share, at most. */
    readonly perPeer = 4096,
  ) {}
}
