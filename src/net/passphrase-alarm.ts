/**
 * What an encrypted room tells its user about sealed datagrams it cannot open (PROTOCOL.md
 * §10.4). Only datagrams shaped like real sealed frames of another member count (`foreign`):
 * plaintext junk, `mcchat doctor` probes, short or oversized datagrams never raise an alarm.
 *
 * - A member that verifies traffic from other runs says, once per source, "someone here uses
 *   another passphrase", OTHERS_WAIT_MS after the first such datagram from it.
 * - A member that has verified nothing from anybody says that its own passphrase may be wrong,
 *   SELF_WAIT_MS after the first datagram it could not open (it learns before the others do).
 *
 * Judging waits a moment because the right members answer a newcomer at once (§10.7): a
 * member whose passphrase is right verifies something within that moment.
 */
import { Alarm, type Scheduler } from "../session/scheduler.ts";

/** A member that verifies nothing is told this long after the first datagram it cannot open (ms). */
export const SELF_WAIT_MS = 300;
/** A member that verifies others names a source with another key this long after its first (ms). */
export const OTHERS_WAIT_MS = 1000;
/** Sources named at most (the rest are counted in the stats only). */
export const MAX_NAMED_SOURCES = 16;

export function otherPassphraseText(from: string): string {
  return `someone here uses another passphrase: sealed datagrams from ${from} do not open with ours (or another encrypted room shares this group/port)`;
}

export function ownPassphraseText(datagrams: number, senders: number): string {
  const s = senders === 1 ? "" : "s";
  return `nothing in this room opens with your passphrase: ${datagrams} sealed datagram${datagrams === 1 ? "" : "s"} from ${senders} sender${s} could not be opened — is the passphrase right? (or another encrypted room uses this group/port)`;
}

export class PassphraseAlarm {
  private verifiedOthers = 0;
  /** Sources (address:port) not yet judged, with the datagrams heard from each. */
  private readonly unjudged = new Map<string, number>();
  private readonly named = new Set<string>();
  private toldSelf = false;
  private failures = 0;
  private readonly alarm: Alarm;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly emit: (text: string) => void,
  ) {
    this.alarm = new Alarm(scheduler, () => this.judge());
  }

  /** A datagram of another run opened: our passphrase is the room's. */
  verified(): void {
    this.verifiedOthers++;
  }

  /**
   * A sealed-looking datagram from another host did not open with our key. True if it is the
   * first from `from` since the last judgement (worth letting it hear the room at once).
   */
  foreign(from: string): boolean {
    this.failures++;
    if (this.named.has(from)) return false;
    const first = !this.unjudged.has(from);
    if (first && this.unjudged.size >= MAX_NAMED_SOURCES) return false;
    this.unjudged.set(from, (this.unjudged.get(from) ?? 0) + 1);
    const wait = this.verifiedOthers > 0 ? OTHERS_WAIT_MS : SELF_WAIT_MS;
    this.alarm.arm(this.scheduler.now() + wait);
    return first;
  }

  close(): void {
    this.alarm.disarm();
  }

  private judge(): void {
    if (this.verifiedOthers === 0) {
      if (!this.toldSelf) {
        this.toldSelf = true;
        this.emit(ownPassphraseText(this.failures, this.unjudged.size));
      }
      this.unjudged.clear();
      return;
    }
    for (const from of this.unjudged.keys()) {
      if (this.named.size >= MAX_NAMED_SOURCES) break;
      this.named.add(from);
      this.emit(otherPassphraseText(from));
    }
    this.unjudged.clear();
  }
}
