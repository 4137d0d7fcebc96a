import { type Channel, LINK_DOWN_CODES, type Transport } from "../net/transport.ts";

/**
 * Sends failing because the link or route is gone, as one episode: the first failure is said
 * once ("cannot send (ENETUNREACH on eth0); retrying…"), the rest are counted, and the first
 * send that works again ends it ("can send again after 10.2 s (62 frames failed)"). State
 * only: the texts are returned, the caller says them. `now` is monotonic ms.
 */
export class SendTrouble {
  private since: number | undefined;
  private failures = 0;

  /** Sends are failing now (an episode is open). */
  get failing(): boolean {
    return this.since !== undefined;
  }

  /** A send failed with errno `code` (on interface `via`): the text to say if this opens an episode. */
  failed(now: number, code: string, via?: string): string | undefined {
    this.failures++;
    if (this.since !== undefined) return undefined;
    this.since = now;
    const what = [code, via ? `on ${via}` : ""].filter(Boolean).join(" ");
    return `cannot send${what ? ` (${what})` : ""}; retrying…`;
  }

  /** A send worked: the text to say if this closes an episode. */
  succeeded(now: number): string | undefined {
    if (this.since === undefined) return undefined;
    const seconds = ((now - this.since) / 1000).toFixed(1);
    const n = this.failures;
    this.since = undefined;
    this.failures = 0;
    return `can send again after ${seconds} s (${n} frame${n === 1 ? "" : "s"} failed; members ask for what they missed)`;
  }
}

/** What a watched transport tells its owner. */
export interface SendWatchOptions {
  /** Monotonic ms. */
  now: () => number;
  /** Says the start and the end of an episode of failing sends (a warning each). */
  say: (text: string) => void;
}

/** A Transport whose failing sends are watched (watchSends). */
export interface WatchedTransport extends Transport {
  /** Sends are failing now because the link or route is gone. */
  readonly failing: boolean;
}

/**
 * Wraps a framed session's transport: a send that fails because the link or route is gone
 * (LINK_DOWN_CODES) resolves as if the datagram had been lost on the wire (the session's repair
 * buffer holds what it carried, and members ask for it once our heartbeats reach them again),
 * and the episode is said twice at most, not once per frame. Other failures (a datagram too
 * large, the transport closed) still reject.
 */
export function watchSends(inner: Transport, o: SendWatchOptions): WatchedTransport {
  const trouble = new SendTrouble();
  const wrapped: WatchedTransport = {
    get failing() {
      return trouble.failing;
    },
    get recvBufferSize() {
      return inner.recvBufferSize;
    },
    get security() {
      return inner.security;
    },
    async send(data: Uint8Array, channel?: Channel): Promise<void> {
      try {
        await inner.send(data, channel);
      } catch (e) {
        const err = e as { code?: unknown; via?: unknown };
        const code = typeof err?.code === "string" ? err.code : "";
        if (!LINK_DOWN_CODES.has(code)) throw e;
        const text = trouble.failed(
          o.now(),
          code,
          typeof err.via === "string" ? err.via : undefined,
        );
        if (text) o.say(text);
        return;
      }
      const text = trouble.succeeded(o.now());
      if (text) o.say(text);
    },
    onDatagram: (h) => inner.onDatagram(h),
    close: () => inner.close(),
  };
  return wrapped;
}
