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
  /** Leave the group and close the socket(s). Idempotent. */
  close(): Promise<void>;
}
