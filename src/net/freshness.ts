/**
 * The freshness exchange of an encrypted room (PROTOCOL.md §10.7): how runs prove to each other
 * that they are live now, so that datagrams captured earlier and replayed to a member that
 * joined later are never shown. No clock of another host is used: each run only compares its
 * own monotonic clock with itself.
 *
 * - When a run we cannot show yet is heard (`want`), we send a CHALLENGE: a FRESH frame with a
 *   new random nonce, sealed into the room. One challenge serves every unproven run at once; at
 *   most one per CHALLENGE_GAP_MS, repeated every RETRY_MS while some run is still unproven.
 * - Every challenge we hear (`heard`) is echoed: within ECHO_DELAY_MS one FRESH frame lists the
 *   nonces heard since the last echo (at most MAX_ECHOES), so one answer satisfies many
 *   challengers; at most one echo per ECHO_GAP_MS, whatever is replayed at us.
 * - Every FRESH frame carries our floor: the first counter we sealed at or after FRESH_AGE_MS
 *   ago (by our clock). A receiver that sees its nonce echoed takes the run's frames from the
 *   floor on; older counters are not fresh.
 *
 * The exchange only decides what to send and whether a FRESH frame answers us; the sealed
 * transport (sealed-transport.ts) seals, sends and holds the unproven runs' frames.
 */
import type { Fresh } from "../protocol/fresh.ts";
import { encodeFresh, MAX_ECHOES, NONCE_LENGTH } from "../protocol/fresh.ts";
import { Alarm, type Scheduler } from "../session/scheduler.ts";

/** Challenges at most this often (ms). */
export const CHALLENGE_GAP_MS = 100;
/** A challenge is repeated this often while some run is still unproven (ms). */
export const RETRY_MS = 250;
/** Echoes wait this long to gather more nonces (ms). */
export const ECHO_DELAY_MS = 10;
/** Echoes at most this often (ms). */
export const ECHO_GAP_MS = 50;
/** Frames we sealed within this age (our clock) are fresh: the floor we announce (ms). */
export const FRESH_AGE_MS = 2000;
/** Our latest nonces that an echo may carry to prove a run (older ones no longer count). */
export const OWN_NONCES_KEPT = 8;
/** Counter checkpoints are taken at most this often (ms). */
const CHECKPOINT_MS = 250;

export interface FreshnessOptions {
  scheduler: Scheduler;
  random: (n: number) => Uint8Array;
  /** Seal and send one FRESH frame (its inner bytes); errors are the sender's business. */
  send: (inner: Uint8Array) => void;
  /** The next counter we will seal with. */
  counter: () => bigint;
  /** How many runs are still unproven (challenges repeat while this is > 0). */
  unproven: () => number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export class FreshnessExchange {
  private readonly ownNonces: string[] = [];
  /** Nonces heard and not yet echoed, in order heard (hex). */
  private readonly toEcho = new Set<string>();
  private lastChallengeAt = Number.NEGATIVE_INFINITY;
  private lastEchoAt = Number.NEGATIVE_INFINITY;
  /** (time, the counter of the first frame sealed at or after it), oldest first. */
  private readonly checkpoints: { t: number; c: bigint }[] = [];
  private readonly challengeAlarm: Alarm;
  private readonly echoAlarm: Alarm;
  private readonly retryAlarm: Alarm;
  private challengeWanted = false;
  private closed = false;
  readonly stats = { challengesSent: 0, echoesSent: 0 };

  constructor(private readonly o: FreshnessOptions) {
    this.challengeAlarm = new Alarm(o.scheduler, () => this.sendDue());
    this.echoAlarm = new Alarm(o.scheduler, () => this.sendDue());
    this.retryAlarm = new Alarm(o.scheduler, () => {
      if (this.o.unproven() > 0) this.want();
    });
  }

  /** An unproven run was heard: challenge soon (rate-limited), and again until none is left. */
  want(): void {
    if (this.closed) return;
    this.challengeWanted = true;
    this.challengeAlarm.arm(
      Math.max(this.o.scheduler.now(), this.lastChallengeAt + CHALLENGE_GAP_MS),
    );
  }

  /** We are about to seal a frame with `counter` (for the floor). */
  sealing(counter: bigint): void {
    const now = this.o.scheduler.now();
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (!last || now - last.t >= CHECKPOINT_MS) this.checkpoints.push({ t: now, c: counter });
    const keepFrom = now - FRESH_AGE_MS - 2 * CHECKPOINT_MS;
    while (this.checkpoints.length > 1 && (this.checkpoints[1]?.t ?? now) < keepFrom) {
      this.checkpoints.shift();
    }
  }

  /** Our floor: the first counter sealed at or after FRESH_AGE_MS ago. */
  floor(): bigint {
    const since = this.o.scheduler.now() - FRESH_AGE_MS;
    for (const cp of this.checkpoints) if (cp.t >= since) return cp.c;
    return this.o.counter();
  }

  /**
   * A FRESH frame of another run opened. Queues its challenge for our echo; returns true if it
   * echoes one of our recent nonces (its run is live now).
   */
  heard(f: Fresh): boolean {
    if (f.challenge && !this.closed) {
      const n = hex(f.challenge);
      this.toEcho.delete(n);
      this.toEcho.add(n);
      while (this.toEcho.size > MAX_ECHOES)
        this.toEcho.delete(this.toEcho.values().next().value as string);
      const now = this.o.scheduler.now();
      this.echoAlarm.arm(Math.max(now + ECHO_DELAY_MS, this.lastEchoAt + ECHO_GAP_MS));
    }
    for (const e of f.echoes) if (this.ownNonces.includes(hex(e))) return true;
    return false;
  }

  close(): void {
    this.closed = true;
    this.challengeAlarm.disarm();
    this.echoAlarm.disarm();
    this.retryAlarm.disarm();
  }

  /** Sends what is due: an echo, a challenge, or both in one frame. */
  private sendDue(): void {
    if (this.closed) return;
    const now = this.o.scheduler.now();
    const echoDue = this.toEcho.size > 0 && now >= this.lastEchoAt + ECHO_GAP_MS;
    const challengeDue = this.challengeWanted && now >= this.lastChallengeAt + CHALLENGE_GAP_MS;
    if (!echoDue && !challengeDue) {
      if (this.toEcho.size > 0) this.echoAlarm.arm(this.lastEchoAt + ECHO_GAP_MS);
      if (this.challengeWanted) this.challengeAlarm.arm(this.lastChallengeAt + CHALLENGE_GAP_MS);
      return;
    }
    const f: Fresh = { floor: 0n, echoes: [] };
    if (echoDue) {
      f.echoes = [...this.toEcho].map((n) => Uint8Array.from(Buffer.from(n, "hex")));
      this.toEcho.clear();
      this.lastEchoAt = now;
      this.stats.echoesSent++;
    }
    if (challengeDue) {
      const nonce = Uint8Array.from(this.o.random(NONCE_LENGTH)).slice(0, NONCE_LENGTH);
      this.ownNonces.push(hex(nonce));
      if (this.ownNonces.length > OWN_NONCES_KEPT) this.ownNonces.shift();
      f.challenge = nonce;
      this.lastChallengeAt = now;
      this.challengeWanted = false;
      this.stats.challengesSent++;
    }
    f.floor = this.floor();
    this.o.send(encodeFresh(f));
    if (challengeDue) this.retryAlarm.arm(now + RETRY_MS);
  }
}
