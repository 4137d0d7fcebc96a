import { UserError } from "../errors.ts";

/**
 * Which of a room's two ports a datagram travels on (PROTOCOL.md "Ports"): a room is a
 * group and a port P. Legacy programs use P only, with plain text. Framed members send
 * their frames to the companion port P+1, so a legacy program never receives a frame;
 * they send plain text to P only when bridging to legacy programs. A `--raw` member
 * uses P for everything.
 */
export type Channel = "framed" | "legacy";

/** One received datagram, with the sender's address and source port. */
export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
  /** Sent by this very process (only a transport that can tell sets it). */
  self?: boolean;
  /**
   * The socket it arrived on: "legacy" = the room port P, "framed" = the companion
   * port P+1. A raw transport hears only "legacy". Unset: the transport cannot tell.
   */
  channel?: Channel;
  /**
   * Passed on by an encrypted room's transport (sealed-transport.ts) with `allowPlaintext`:
   * legacy text that no passphrase protects. Show it marked as unauthenticated.
   */
  unauthenticated?: boolean;
}

/**
 * What an encrypted room's transport (src/net/sealed-transport.ts) tells the session: datagrams
 * it dropped, and the passphrase warnings (src/net/passphrase-alarm.ts).
 */
export interface RoomSecurity {
  encrypted: true;
  /**
   * Datagrams dropped so far: `undecryptable` = sealed but would not open (wrong key, forged,
   * damaged), opened to an inner frame it may not carry, or forged with our own address;
   * `replayed` = opened a second time, too old for the replay window, or from a run that did
   * not prove it is live now (PROTOCOL.md §10.7); `plaintextDropped` = unsealed frames, junk
   * and legacy text.
   */
  counters(): { undecryptable: number; replayed: number; plaintextDropped: number };
  /**
   * Called with each passphrase warning: "nothing in this room opens with your passphrase …"
   * (once per run), "someone here uses another passphrase: … from ADDRESS:PORT …" (once per
   * source). A late listener gets the ones already given.
   */
  onWarning(cb: (text: string) => void): void;
  /**
   * Called when a run not proven live yet sends v1 presence (HELLO/HEARTBEAT without COMPAT):
   * a mcchat 0.2 member, or a replay of one (src/net/legacy-hint.ts), at most once per
   * LEGACY_HINT_GAP_MS. Nothing of that run is shown or delivered; the session may speak its
   * v1 view for a while, so that a real 0.2 member names us and so proves its run.
   */
  onLegacyRun?(cb: () => void): void;
}

/**
 * What the session needs from the network: send one datagram to the room, hear
 * datagrams from it. The real one wraps node:dgram (udp-transport.ts); tests pass
 * in-memory or lossy ones.
 */
export interface Transport {
  /**
   * Send one datagram: "framed" (default) to the companion port P+1, "legacy" to the
   * room port P. Both leave from the same source address:port. A raw transport sends
   * both to P. Rejects on a socket error (e.g. EMSGSIZE) or after close().
   */
  send(data: Uint8Array, channel?: Channel): Promise<void>;
  /** Register the (single) receive handler. */
  onDatagram(handler: (d: Datagram) => void): void;
  /** Receive buffer the kernel gave (the framed socket's), in bytes, where the transport knows it. */
  readonly recvBufferSize?: number;
  /** Set by an encrypted room's transport (sealed-transport.ts); absent in an open room. */
  readonly security?: RoomSecurity;
  /** Leave the group and close the socket(s). Idempotent. */
  close(): Promise<void>;
}

/**
 * Errno codes of a failed send that say the link, its address or the route is missing (or a
 * firewall refused it), not that the datagram is wrong: such a send is lost like a datagram
 * lost on the wire, and later sends may work again.
 */
export const LINK_DOWN_CODES: ReadonlySet<string> = new Set([
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "EADDRNOTAVAIL",
  "ENODEV",
  "ENOBUFS",
  "EPERM",
]);

/** A send the network did not take: one line to show, the errno code, the interface it was for. */
export class SendFailedError extends UserError {
  constructor(
    message: string,
    /** The socket's errno code ("ENETUNREACH"); "" when it had none. */
    readonly code: string,
    /** Name of the interface the send was pinned to; undefined = the system's choice. */
    readonly via?: string,
  ) {
    super(message, 1);
    this.name = "SendFailedError";
  }
}
