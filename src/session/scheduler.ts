/**
 * Time for the session: a monotonic clock and one-shot timers. The real one uses
 * performance.now() and setTimeout; tests pass a virtual one (test/helpers/virtual-clock.ts)
 * and drive the real Session without sleeping.
 *
 * `now()` is monotonic milliseconds with an arbitrary origin: it is only ever compared with
 * itself (ages, deadlines), never with another host's clock or with the wall clock.
 */
export type TimerHandle = unknown;

export interface Scheduler {
  /** Monotonic time, ms. */
  now(): number;
  /** Call `fn` once at `time` (ms on the `now()` scale; the past means "soon"). */
  at(time: number, fn: () => void): TimerHandle;
  /** Cancel a timer from `at` (a fired or cancelled one is ignored). */
  cancel(handle: TimerHandle): void;
}

export const systemScheduler: Scheduler = {
  now: () => performance.now(),
  at: (time, fn) => setTimeout(fn, Math.max(0, time - performance.now())),
  cancel: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * One re-armable timer: `arm(at)` keeps the earliest time asked for until it fires; firing
 * clears it. The callback usually re-arms for the next deadline.
 */
export class Alarm {
  private handle: TimerHandle | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly fire: () => void,
  ) {}

  arm(at: number): void {
    if (this.handle !== undefined && at >= this.armedAt) return;
    this.disarm();
    this.armedAt = at;
    this.handle = this.scheduler.at(at, () => {
      this.handle = undefined;
      this.armedAt = Number.POSITIVE_INFINITY;
      this.fire();
    });
  }

  disarm(): void {
    if (this.handle !== undefined) this.scheduler.cancel(this.handle);
    this.handle = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }
}
