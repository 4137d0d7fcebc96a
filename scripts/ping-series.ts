/**
 * The measured ping series of `npm run bench` (item 4), shared by the raw-socket pinger
 * (bench-udp.ts) and the one that goes through mcchat (bench-ping.ts): "ping 0" until it
 * is answered, then "ping 1".."ping COUNT" paced at RATE a second, each "pong N" timed.
 */
export class PingSeries {
  private readonly sentAt: Float64Array;
  private readonly rtt: Float64Array;
  private probeAnswered = false;

  constructor(private readonly o: { count: number; rate: number; warmup: number }) {
    this.sentAt = new Float64Array(o.count + 1);
    this.rtt = new Float64Array(o.count + 1).fill(Number.NaN);
  }

  /** "pong n" arrived at `at` (performance.now()). */
  pong(n: number, at: number): void {
    if (n === 0) this.probeAnswered = true;
    else if (n <= this.o.count && Number.isNaN(this.rtt[n] as number)) {
      this.rtt[n] = at - (this.sentAt[n] as number);
    }
  }

  /**
   * Probes until answered, sends the paced series, waits up to 2 s for the last answers;
   * returns the summary (ms): p50/p90/p99/max/mean over the answers after the warm-up.
   */
  async run(send: (line: string) => void): Promise<Record<string, number>> {
    const { count, rate, warmup } = this.o;
    while (!this.probeAnswered) {
      send("ping 0");
      for (let i = 0; i < 20 && !this.probeAnswered; i++) await Bun.sleep(10);
    }
    await Bun.sleep(200); // let the probe's own traffic settle before the measured series
    const interval = 1000 / rate;
    const t0 = performance.now();
    let next = 1;
    while (next <= count) {
      const t = performance.now();
      while (next <= count && t0 + (next - 1) * interval <= t) {
        this.sentAt[next] = performance.now();
        send(`ping ${next}`);
        next++;
      }
      const wait = t0 + (next - 1) * interval - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const lastSent = performance.now();
    const answered = () => this.rtt.reduce((a, v, i) => (i > 0 && !Number.isNaN(v) ? a + 1 : a), 0);
    while (answered() < count && performance.now() - lastSent < 2000) await Bun.sleep(20);
    const xs = Array.from(this.rtt.subarray(warmup + 1)).filter((v) => !Number.isNaN(v));
    xs.sort((a, b) => a - b);
    const q = (p: number) =>
      xs.length
        ? (xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] as number)
        : Number.NaN;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const got = answered();
    return {
      sent: count,
      answered: got,
      lost: count - got,
      warmup,
      measured: xs.length,
      p50: r3(q(0.5)),
      p90: r3(q(0.9)),
      p99: r3(q(0.99)),
      max: r3(xs.at(-1) ?? Number.NaN),
      mean: r3(xs.reduce((a, b) => a + b, 0) / (xs.length || 1)),
      rate: Math.round(count / elapsed),
    };
  }
}
