/**
 * The transport of an encrypted room (PROTOCOL.md §10): a decorator around any Transport that
 * seals every frame it sends and opens every framed datagram it hears before the session sees
 * it. What fails (wrong key, forged, damaged, replayed, plaintext) is dropped and counted.
 *
 * Per key salt S heard, it keeps (bounded, oldest first out) the derived sending key, a replay
 * window and the inner instance id S carried first. A salt enters this table only after one of
 * its datagrams verified, so forged datagrams cannot evict a real sender's replay window.
 */
import { randomBytes } from "node:crypto";
import { Flag, HEADER_LENGTH, MAGIC_0, MAGIC_1, TypeCode } from "../protocol/constants.ts";
import { DecodeError } from "../protocol/decode-error.ts";
import { isFramed } from "../protocol/header.ts";
import {
  deriveSendKey,
  isSealed,
  KEY_SALT_LENGTH,
  MAX_COUNTER,
  openFrame,
  readSealedHeader,
  sealFrame,
} from "../protocol/sealed.ts";
import { ReplayWindow } from "./replay-window.ts";
import type { Channel, Datagram, RoomSecurity, Transport } from "./transport.ts";

/** Own sent frames kept to recognise their loopback copies (a window's worth and more). */
const OWN_SENT_KEPT = 4096;
/** Key salts (sending runs) remembered at once; the least recently verified is forgotten first. */
export const MAX_KEY_SALTS = 1024;
/** Failures (undecryptable datagrams or plaintext frames) before the one-time warning. */
export const WARN_AFTER_FAILURES = 3;

export interface SealOptions {
  /** From deriveRoomKey (32 bytes). */
  roomKey: Uint8Array;
  /** Pass legacy text on, flagged `unauthenticated`, instead of dropping it. */
  allowPlaintext?: boolean;
  /** Source of the per-run key salt (tests); default node:crypto randomBytes. */
  random?: (n: number) => Uint8Array;
}

interface SenderKey {
  key: Uint8Array;
  window: ReplayWindow;
  /** Hex instance id of the first inner frame under this salt (history answers aside). */
  id: string | undefined;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export function warningText(n: number): string {
  return `${n} datagrams could not be decrypted — wrong passphrase, or another room on this group/port?`;
}

/**
 * Wraps `inner` for an encrypted room. `send(data)` / `send(data, "framed")` seals `data` (a v1
 * frame) under this run's random key salt with counter 0, 1, 2, ...; `send(data, "legacy")`
 * rejects: an encrypted room never sends plain text. Received datagrams reach the handler only
 * if they opened, were not replayed and carry the instance id their salt carried first (`data`
 * is then the inner frame), or, with `allowPlaintext`, as legacy text marked `unauthenticated`.
 */
export function sealTransport(
  inner: Transport,
  opts: SealOptions,
): Transport & { security: RoomSecurity } {
  const roomKey = Uint8Array.from(opts.roomKey);
  if (roomKey.length !== 32) throw new RangeError("room key must be 32 bytes");
  const salt = Uint8Array.from((opts.random ?? randomBytes)(KEY_SALT_LENGTH));
  if (salt.length !== KEY_SALT_LENGTH) throw new RangeError("random() gave a short key salt");
  const sendKey = deriveSendKey(roomKey, salt);
  let counter = 0n;
  /** Our last sealed frames by counter, to hand our own looped-back datagrams on unopened. */
  const ownSent = new Map<bigint, Uint8Array>();

  const senders = new Map<string, SenderKey>();
  const counts = { undecryptable: 0, replayed: 0, plaintextDropped: 0 };
  /** Undecryptable datagrams and plaintext frames: what the warning is about. */
  let failures = 0;
  let warning: string | undefined;
  const warned: ((text: string) => void)[] = [];

  const fail = (kind: "undecryptable" | "plaintextFrame"): void => {
    if (kind === "undecryptable") counts.undecryptable++;
    else counts.plaintextDropped++;
    failures++;
    if (warning === undefined && failures >= WARN_AFTER_FAILURES) {
      warning = warningText(failures);
      for (const cb of warned) cb(warning);
    }
  };

  /** Opens a sealed datagram; the inner frame, or undefined (counted) if it must be dropped. */
  const open = (data: Uint8Array): Uint8Array | undefined => {
    let head: { salt: Uint8Array; counter: bigint };
    try {
      head = readSealedHeader(data);
    } catch {
      fail("undecryptable");
      return undefined;
    }
    const saltHex = hex(head.salt);
    const known = senders.get(saltHex);
    if (known && !known.window.check(head.counter)) {
      counts.replayed++; // refused before spending a decryption
      return undefined;
    }
    let key: Uint8Array | undefined = known?.key;
    let opened: Uint8Array;
    try {
      opened = openFrame((s) => {
        key ??= deriveSendKey(roomKey, s);
        return key;
      }, data).inner;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      fail("undecryptable");
      return undefined;
    }
    // Verified: the sender holds the room key. Its inner frame must be a v1 frame ...
    if (opened.length < HEADER_LENGTH || opened[0] !== MAGIC_0 || opened[1] !== MAGIC_1) {
      counts.undecryptable++;
      return undefined;
    }
    // ... of the instance this salt carried first. History answers are the exception: a member
    // re-sends other members' messages with their own instance ids (PROTOCOL.md, HISTORY_REQ).
    const id = hex(opened.subarray(5, 13));
    // History answers (a v1 MESSAGE or a RECORD with the HISTORY flag) re-send other members'
    // records under their ids.
    const type = opened[3];
    const history =
      (type === TypeCode.message || type === TypeCode.record) &&
      ((opened[4] as number) & Flag.history) !== 0;
    if (known && !history && known.id !== undefined && known.id !== id) {
      counts.undecryptable++;
      return undefined;
    }
    const entry = known ?? {
      key: key as Uint8Array,
      window: new ReplayWindow(),
      id: history ? undefined : id,
    };
    if (entry.id === undefined && !history) entry.id = id;
    if (!entry.window.accept(head.counter)) {
      counts.replayed++; // (check() above already refused these; kept as a second guard)
      return undefined;
    }
    senders.delete(saltHex); // re-insert: the Map's order is "least recently verified first"
    senders.set(saltHex, entry);
    if (senders.size > MAX_KEY_SALTS) {
      const oldest = senders.keys().next().value;
      if (oldest !== undefined) senders.delete(oldest);
    }
    return opened;
  };

  const security: RoomSecurity = {
    encrypted: true,
    counters: () => ({ ...counts }),
    onWarning(cb) {
      warned.push(cb);
      if (warning !== undefined) cb(warning);
    },
  };

  return {
    security,
    get recvBufferSize() {
      return inner.recvBufferSize;
    },
    send(data: Uint8Array, channel: Channel = "framed"): Promise<void> {
      if (channel !== "framed") {
        return Promise.reject(new Error("an encrypted room never sends plain text"));
      }
      if (counter > MAX_COUNTER) {
        return Promise.reject(new Error("sending key exhausted (2^64 datagrams)"));
      }
      let sealed: Uint8Array;
      try {
        sealed = sealFrame(sendKey, salt, counter, data);
      } catch (e) {
        return Promise.reject(e);
      }
      if (ownSent.size >= OWN_SENT_KEPT) ownSent.delete(ownSent.keys().next().value as bigint);
      ownSent.set(counter, data);
      counter++; // never reused, even if this send fails
      return inner.send(sealed, "framed");
    },
    onDatagram(handler: (d: Datagram) => void): void {
      inner.onDatagram((d) => {
        const { data } = d;
        // Our own datagrams looped back: we know what we sealed, so a sender does not decrypt
        // everything it sent a second time.
        if (d.self && isSealed(data)) {
          const mine = ownSent.get(readSealedHeader(data).counter);
          if (mine) return handler({ ...d, data: mine });
        }
        // "legacy" = the room port; unset = the transport cannot tell: go by the content.
        const legacy = d.channel === "legacy" || (d.channel === undefined && !isFramed(data));
        if (legacy) {
          if (opts.allowPlaintext && !isFramed(data)) {
            handler({ ...d, unauthenticated: true });
          } else {
            counts.plaintextDropped++; // legacy text: not a sign of a wrong passphrase
          }
          return;
        }
        if (!isSealed(data)) {
          fail("plaintextFrame");
          return;
        }
        const opened = open(data);
        if (opened) handler({ ...d, data: opened });
      });
    },
    close: () => inner.close(),
  };
}
