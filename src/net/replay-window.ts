/**
 * Anti-replay window over the u64 counters of one sending key (PROTOCOL.md §10.4), in the
 * style of RFC 4303 §3.4.3: remembers the highest counter accepted (`top`) and which of the
 * WIDTH counters top-WIDTH+1..top were seen. A counter above `top` is new; one at or below
 * top-WIDTH is too old and refused (it may be new, but cannot be told from a replay).
 *
 * Use: `check(c)` before spending a decryption, `accept(c)` only after the tag verified, so
 * forged datagrams cannot move the window. Counters are bigints over the whole u64 range.
 */
export const REPLAY_WINDOW_WIDTH = 1024;
/**
 * How far above `top` a counter may jump and still be taken as it comes (PROTOCOL.md §10.4).
 * A farther counter is not refused for good: its run must prove again that it is live now
 * (§10.7) before the window moves there, so no single datagram can push the window out of reach
 * of the run's real counters.
 */
export const MAX_COUNTER_JUMP = 65_536n;

export class ReplayWindow {
  /** Highest counter accepted; -1 before the first. */
  private top = -1n;
  /** Counters below this are refused (not proven fresh, PROTOCOL.md §10.7). */
  private low = 0n;
  /** Bit (c mod width) set = counter c (within the window) was accepted. */
  private readonly bits: Uint32Array;
  private readonly width: bigint;

  constructor(readonly size: number = REPLAY_WINDOW_WIDTH) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
      throw new RangeError("window size must be a positive multiple of 32");
    }
    this.bits = new Uint32Array(size / 32);
    this.width = BigInt(size);
  }

  /** Highest counter accepted so far, or -1n. */
  get highest(): bigint {
    return this.top;
  }

  /** Would `accept(counter)` take it? (Not a duplicate, not too old.) Changes nothing. */
  check(counter: bigint): boolean {
    if (counter < this.low) return false;
    if (counter > this.top) return true;
    if (this.top - counter >= this.width) return false;
    return !this.get(counter);
  }

  /** Counters below the floor are refused from now on. */
  get floor(): bigint {
    return this.low;
  }

  /** True if `counter` is more than MAX_COUNTER_JUMP above the highest accepted counter. */
  isFar(counter: bigint): boolean {
    return this.top >= 0n && counter - this.top > MAX_COUNTER_JUMP;
  }

  /**
   * Refuses every counter below `floor` from now on (a floor never goes down). If the floor is
   * above `top`, the window slides up to it, empty.
   */
  raiseFloor(floor: bigint): void {
    if (floor <= this.low) return;
    this.low = floor;
    if (floor - 1n > this.top) {
      this.bits.fill(0);
      this.top = floor - 1n;
    }
  }

  /**
   * Records `counter` as received. Returns false (and changes nothing) if `check` would refuse
   * it. Call only for datagrams whose tag verified.
   */
  accept(counter: bigint): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.top) {
      const jump = counter - this.top;
      if (jump >= this.width) {
        this.bits.fill(0);
      } else {
        // Slots top+1 .. counter-1 now stand for counters never seen: clear them.
        for (let c = this.top + 1n; c < counter; c++) this.clear(c);
      }
      this.top = counter;
    }
    this.set(counter);
    return true;
  }

  private index(counter: bigint): number {
    return Number(counter % this.width);
  }

  private get(counter: bigint): boolean {
    const i = this.index(counter);
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  private set(counter: bigint): void {
    const i = this.index(counter);
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  private clear(counter: bigint): void {
    const i = this.index(counter);
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }
}
