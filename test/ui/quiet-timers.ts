/** A hand-driven clock with one-shot timers, for the quiet-screen pieces (join-summary, paste-guard). */
export class ManualTimers {
  now = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];

  readonly clock = () => this.now;

  readonly setTimer = (fn: () => void, ms: number) => {
    const t = { at: this.now + ms, fn, live: true };
    this.timers.push(t);
    return () => {
      t.live = false;
    };
  };

  /** Moves time on by `ms`, firing the timers due, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.now = due.at;
      due.fn();
    }
    this.now = end;
  }
}
