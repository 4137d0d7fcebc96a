import type { Scheduler, TimerHandle } from "../../src/session/scheduler.ts";

interface Timer {
  at: number;
  n: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A virtual clock implementing the session's Scheduler: time moves only when a test runs it,
 * timers fire in time order (ties in the order they were set). Lets tests and simulations drive
 * the real Session for minutes of virtual time in milliseconds, without sleeping.
 */
export class VirtualClock implements Scheduler {
  private t = 0;
  private n = 0;
  private heap: Timer[] = [];

  /**
   * `flush`: how pending jobs are run between timers (default: a macrotask turn, as between
   * real timers; a big simulation may pass `microtasksOnly` to run faster).
   */
  constructor(
    start = 0,
    private readonly flush: () => Promise<void> = flushJobs,
  ) {
    this.t = start;
  }

  now = (): number => this.t;

  at = (time: number, fn: () => void): TimerHandle => {
    const timer: Timer = { at: Math.max(time, this.t), n: this.n++, fn, cancelled: false };
    this.push(timer);
    return timer;
  };

  cancel = (handle: TimerHandle): void => {
    if (handle) (handle as Timer).cancelled = true;
  };

  /** Timers still pending. */
  get pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /**
   * Run timers up to `until` (virtual ms), then set the clock to `until`. Between timers,
   * pending promise jobs (awaits inside the session) run, as they would between real timers.
   */
  async runUntil(until: number, maxSteps = 10_000_000): Promise<void> {
    for (let steps = 0; steps < maxSteps; steps++) {
      await this.flush();
      const next = this.peek();
      if (!next || next.at > until) break;
      this.pop();
      this.t = next.at;
      next.fn();
    }
    await this.flush();
    this.t = Math.max(this.t, until);
  }

  /** Run for `ms` more virtual milliseconds. */
  run(ms: number): Promise<void> {
    return this.runUntil(this.t + ms);
  }

  /** Run until `cond()` holds (checked between timers), at most `maxMs` virtual ms; returns it. */
  async runUntilTrue(cond: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.t + maxMs;
    for (;;) {
      await this.flush();
      if (cond()) return true;
      const next = this.peek();
      if (!next || next.at > end) {
        this.t = end;
        return cond();
      }
      this.pop();
      this.t = next.at;
      next.fn();
    }
  }

  private peek(): Timer | undefined {
    while (this.heap[0]?.cancelled) this.pop();
    return this.heap[0];
  }

  private push(e: Timer): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p] as Timer, e)) break;
      h[i] = h[p] as Timer;
      i = p;
    }
    h[i] = e;
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      // Sift `last` down from the root (no closure per step: this runs once per timer).
      const n = h.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        let child = h[l] as Timer;
        if (r < n && before(h[r] as Timer, child)) {
          m = r;
          child = h[r] as Timer;
        }
        if (!before(child, last)) break;
        h[i] = child;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n);
}

/** Let every queued promise job and microtask run (a macrotask turn drains them all). */
/**
 * Runs the promise jobs queued now and those they queue, a few levels deep; a macrotask turn
 * only every 256th time (so the test runner's own timers still fire).
 */
export async function microtasksOnly(): Promise<void> {
  if (++microSteps % 256 === 0) return flushJobs();
  for (let i = 0; i < 8; i++) await null;
}
let microSteps = 0;

function flushJobs(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A seeded PRNG (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A view of `vc` whose monotonic origin is `offsetMs` away (another host's performance.now()):
 * timers set on it fire at the same real moment as on `vc`.
 */
export function offsetScheduler(vc: VirtualClock, offsetMs: number): Scheduler {
  return {
    now: () => vc.now() + offsetMs,
    at: (time, fn) => vc.at(time - offsetMs, fn),
    cancel: (h) => vc.cancel(h),
  };
}

/** A promise that resolves `ms` virtual milliseconds from now. */
export function sleep(vc: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) => vc.at(vc.now() + ms, resolve));
}
