import type { Datagram } from "../../net/transport.ts";
import { DecodeError, decode, type Frame, isFramed, isSealed } from "../../protocol/index.ts";
import { formatFrom } from "../room-session.ts";

/** What one received datagram is, for a framed member. */
export type Intake =
  | { kind: "legacy"; from: string; data: Uint8Array }
  | { kind: "frame"; from: string; frame: Frame }
  | { kind: "drop" };

/** Senders warned about ("a newer mcchat?"), at most. */
const MAX_WARNED = 256;
/** Sources whose "address:port" is kept made, at most (then the cache starts again). */
const MAX_SOURCES = 4096;

/**
 * Sorts received datagrams for a framed member (PROTOCOL.md §1): our own loopback is dropped;
 * plain text on the room port is legacy text; frames on the companion port are decoded. Text on
 * the companion port and frames that fail to decode are counted as malformed and dropped (a
 * decoder error never escapes); frames on the room port (an old mcchat, an experiment) are not
 * for the framed room. Warns once per sender about frames of an unknown version or type.
 */
export class DatagramIntake {
  private readonly warned = new Set<string>();
  /**
   * Each source's "address:port", made once: the same string object every time, so the peer
   * table and the legacy bridge compare and hash it cheaply (a fresh string per datagram had to
   * be built and hashed again). Keyed by port, the address checked; bounded.
   */
  private readonly sources = new Map<number, { address: string; from: string }>();

  private fromOf(address: string, port: number): string {
    const known = this.sources.get(port);
    if (known !== undefined && known.address === address) return known.from;
    if (this.sources.size >= MAX_SOURCES) this.sources.clear();
    const from = formatFrom(address, port);
    this.sources.set(port, { address, from });
    return from;
  }
  private warnedSealed = false;

  constructor(
    private readonly onMalformed: () => void,
    private readonly warn: (text: string) => void,
  ) {}

  take(d: Datagram): Intake {
    if (d.self) return { kind: "drop" };
    const from = this.fromOf(d.address, d.port);
    if (!isFramed(d.data)) {
      if (d.channel === "framed") {
        this.onMalformed();
        return { kind: "drop" };
      }
      return { kind: "legacy", from, data: d.data };
    }
    if (d.channel === "legacy") return { kind: "drop" };
    try {
      return { kind: "frame", from, frame: decode(d.data) };
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.onMalformed();
      if (isSealed(d.data)) {
        // An encrypted room shares this group and port: say so once, not per sender.
        if (!this.warnedSealed) {
          this.warnedSealed = true;
          this.warn(
            "an encrypted room (passphrase) is using this group/port: its messages cannot be shown here",
          );
        }
        return { kind: "drop" };
      }
      const newer = e.reason === "unsupported-version" || e.reason === "unknown-type";
      if (newer && !this.warned.has(from) && this.warned.size < MAX_WARNED) {
        this.warned.add(from);
        this.warn(`ignoring frames from ${from} (${e.message}; a newer mcchat?)`);
      }
      return { kind: "drop" };
    }
  }
}
