/** One received datagram, with the sender's address and source port. */
export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
  /** Sent by this very process (only a transport that can tell sets it). */
  self?: boolean;
}

/**
 * What the session needs from the network: send one datagram to the group, hear
 * datagrams from it. The real one wraps node:dgram (udp-transport.ts); tests pass
 * in-memory or lossy ones.
 */
export interface Transport {
  /** Send one datagram to the group. Rejects on a socket error (e.g. EMSGSIZE). */
  send(data: Uint8Array): Promise<void>;
  /** Register the (single) receive handler. */
  onDatagram(handler: (d: Datagram) => void): void;
  /** Receive buffer the kernel gave, in bytes, where the transport knows it. */
  readonly recvBufferSize?: number;
  /** Leave the group and close the socket(s). Idempotent. */
  close(): Promise<void>;
}
