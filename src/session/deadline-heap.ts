/**
 * Keys by deadline, earliest first: a binary min-heap for timers kept per member, so that a
 * tick visits the members whose timer is due, not every member with a timer (under a flood of
 * made-up members at the 4,096 cap, that scan at every tick was most of a member's CPU).
 *
 * `set` moves a key's deadline in O(log n): the key's deadline as last set is kept, and its
 * older entries are skipped when they come up (the heap is rebuilt when they outnumber the
 * live ones).
 */
export class DeadlineHeap<K> {
  private times: number[] = [];
  private keys: K[] = [];
  private readonly current = new Map<K, number>();

  /** Keys with a deadline. */
  get size(): number {
    return this.current.size;
  }

  /** Entries held, live and stale (at most about twice `size`). */
  get stored(): number {
    return this.times.length;
  }

  /** `key`'s deadline is now `at` (undefined: it has none). */
  set(key: K, at: number | undefined): void {
    if (at === undefined) {
      this.current.delete(key);
      return;
    }
    if (this.current.get(key) === at) return;
    this.current.set(key, at);
    this.push(at, key);
    if (this.times.length > 2 * this.current.size + 64) this.rebuild();
  }

  delete(key: K): void {
    this.current.delete(key);
  }

  /** The earliest deadline, or undefined. */
  peek(): number | undefined {
    this.dropStale();
    return this.times[0];
  }

  /** Takes (forgets) the key with the earliest deadline if it is at or before `now`. */
  takeDue(now: number): K | undefined {
    this.dropStale();
    const t = this.times[0];
    if (t === undefined || t > now) return undefined;
    const key = this.keys[0] as K;
    this.pop();
    this.current.delete(key);
    return key;
  }

  /** Pops entries that are not their key's deadline any more. */
  private dropStale(): void {
    while (this.times.length > 0 && this.current.get(this.keys[0] as K) !== this.times[0]) {
      this.pop();
    }
  }

  private rebuild(): void {
    const entries = [...this.current].sort((a, b) => a[1] - b[1]); // sorted: a valid heap
    this.keys = entries.map((e) => e[0]);
    this.times = entries.map((e) => e[1]);
  }

  private push(t: number, key: K): void {
    const times = this.times;
    const keys = this.keys;
    let i = times.length;
    times.push(t);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= t) break;
      times[i] = times[parent] as number;
      keys[i] = keys[parent] as K;
      i = parent;
    }
    times[i] = t;
    keys[i] = key;
  }

  private pop(): void {
    const times = this.times;
    const keys = this.keys;
    const lastT = times.pop() as number;
    const lastK = keys.pop() as K;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (times[r] as number) < (times[l] as number) ? r : l;
      if ((times[c] as number) >= lastT) break;
      times[i] = times[c] as number;
      keys[i] = keys[c] as K;
      i = c;
    }
    times[i] = lastT;
    keys[i] = lastK;
  }
}
