/**
 * The transport of an encrypted room (PROTOCOL.md §10): a decorator around any Transport that
 * seals every frame it sends and opens every framed datagram it hears before the session sees
 * it. What fails (wrong key, forged, damaged, replayed, plaintext) is dropped and counted.
 *
 * Per key salt S heard, it keeps (bounded, oldest first out) the derived sending key, a replay
 * window and the inner instance id S carried first. A salt enters this table only after its run
 * proved it is live now (§10.7): it echoed a nonce we sent (see freshness.ts), or one of its
 * frames named our instance id (a report or NACK about us, which is how mcchat 0.3 members
 * prove it: see named-proof.ts). Until then its verified frames are held (bounded) and shown
 * once the proof arrives, from the floor the run announces on (or NAMED_PROOF_REACH below the
 * naming frame). A run that never proves it (a capture replayed later) is dropped and counted.
 * An unproven run whose frames are v1 presence (a mcchat 0.2 member, which names us only once
 * it hears our v1 view) makes the session speak v1 for a while: legacy-hint.ts.
 *
 * Nothing a datagram holds can make the handler throw: every read of the wire is guarded.
 */
import { randomBytes } from "node:crypto";
import {
  Flag,
  HEADER_LENGTH,
  MAGIC_0,
  MAGIC_1,
  PROTOCOL_VERSION,
  SEALED_TYPE,
  TypeCode,
} from "../protocol/constants.ts";
import { DecodeError } from "../protocol/decode-error.ts";
import { decodeFresh, type Fresh, isFresh } from "../protocol/fresh.ts";
import { isFramed } from "../protocol/header.ts";
import { idFromBytes } from "../protocol/instance-id.ts";
import {
  deriveSendKey,
  isSealed,
  KEY_SALT_LENGTH,
  MAX_COUNTER,
  MAX_SEALED_BYTES,
  MIN_SEALED_BYTES,
  openFrame,
  readSealedHeader,
  sealFrame,
} from "../protocol/sealed.ts";
import { formatFrom } from "../session/room-session.ts";
import { Alarm, type Scheduler, systemScheduler } from "../session/scheduler.ts";
import { FreshnessExchange } from "./freshness.ts";
import { LegacyHint } from "./legacy-hint.ts";
import { NAMED_PROOF_REACH, namesOneOf } from "./named-proof.ts";
import { PassphraseAlarm } from "./passphrase-alarm.ts";
import { MAX_COUNTER_JUMP, ReplayWindow } from "./replay-window.ts";
import type { Channel, Datagram, RoomSecurity, Transport } from "./transport.ts";

/** Own sent frames kept to recognise their loopback copies (a window's worth and more). */
const OWN_SENT_KEPT = 4096;
/**
 * Key salts (sending runs: one per member) remembered at once, as many as the session's member
 * table (peer-table.ts MAX_PEERS); the least recently verified is forgotten first.
 */
export const MAX_KEY_SALTS = 4096;
/**
 * A run forgotten this soon after it was last verified was still speaking (the longest
 * heartbeat interval is 10 minutes): more members than MAX_KEY_SALTS, said once.
 */
const LIVE_RUN_MS = 600_000;
/** Runs heard but not yet proven live, at most; the oldest is dropped first. */
export const MAX_UNPROVEN_RUNS = 64;
/** Frames held per unproven run until it proves it is live; more are dropped (repair brings them). */
export const MAX_HELD_PER_RUN = 256;
/** An unproven run that has not proven itself this long after it was first heard is dropped (ms). */
export const PROOF_TIMEOUT_MS = 3000;
/**
 * A run dropped that way is not challenged again for this long (ms): its frames are dropped and
 * counted meanwhile, unless it still proves itself. Bounds what a replayed run, or a 0.2 member
 * that cannot answer, costs the room: one round of challenges per run per 30 s.
 */
export const STALE_RUN_MS = 30_000;
/** Our own instance ids remembered (one per run in practice; the latest are kept). */
const MAX_OWN_IDS = 4;

export interface SealOptions {
  /** From deriveRoomKey (32 bytes). */
  roomKey: Uint8Array;
  /** Pass legacy text on, flagged `unauthenticated`, instead of dropping it. */
  allowPlaintext?: boolean;
  /** Source of the per-run key salt and the challenge nonces (tests); default node:crypto. */
  random?: (n: number) => Uint8Array;
  /** Time for the freshness exchange and the alarms; default the system's. */
  scheduler?: Scheduler;
}

interface SenderKey {
  key: Uint8Array;
  window: ReplayWindow;
  /** Hex instance id of the first inner frame under this salt (history answers aside). */
  id: string | undefined;
  /** When a frame under it was last verified (scheduler ms). */
  at?: number;
}

/** A verified frame of a run not proven live yet. */
interface Held {
  counter: bigint;
  inner: Uint8Array;
  d: Datagram;
}

interface Unproven {
  key: Uint8Array;
  /** Counters held (duplicates are replays). */
  seen: Set<bigint>;
  held: Held[];
  /** When it was first heard (scheduler ms). */
  since: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Sealed as we seal: version 1, type SEALED, a length a real sealed frame can have. */
function looksSealed(data: Uint8Array): boolean {
  return (
    data.length >= MIN_SEALED_BYTES &&
    data.length <= MAX_SEALED_BYTES &&
    data[0] === MAGIC_0 &&
    data[1] === MAGIC_1 &&
    data[2] === PROTOCOL_VERSION &&
    data[3] === SEALED_TYPE
  );
}

/** The instance id in a v1 frame's header (at least HEADER_LENGTH bytes). */
const headerId = (frame: Uint8Array): string => idFromBytes(frame.subarray(5, 13));

/**
 * A history answer: a v1 MESSAGE or a RECORD with the HISTORY flag. It re-sends other members'
 * records under their ids, so neither the id binding nor "our own ids" apply to its header.
 */
function isHistoryAnswer(frame: Uint8Array): boolean {
  const type = frame[3];
  return (
    (type === TypeCode.message || type === TypeCode.record) &&
    ((frame[4] as number) & Flag.history) !== 0
  );
}

/**
 * Wraps `inner` for an encrypted room. `send(data)` / `send(data, "framed")` seals `data` (a v1
 * frame) under this run's random key salt with counter 0, 1, 2, ...; `send(data, "legacy")`
 * rejects: an encrypted room never sends plain text. Received datagrams reach the handler only
 * if they opened, their run proved it is live now, they were not replayed and carry the
 * instance id their salt carried first (`data` is then the inner frame), or, with
 * `allowPlaintext`, as legacy text marked `unauthenticated`.
 */
export function sealTransport(
  inner: Transport,
  opts: SealOptions,
): Transport & { security: RoomSecurity } {
  const roomKey = Uint8Array.from(opts.roomKey);
  if (roomKey.length !== 32) throw new RangeError("room key must be 32 bytes");
  const random = opts.random ?? ((n: number) => Uint8Array.from(randomBytes(n)));
  const scheduler = opts.scheduler ?? systemScheduler;
  const salt = Uint8Array.from(random(KEY_SALT_LENGTH));
  if (salt.length !== KEY_SALT_LENGTH) throw new RangeError("random() gave a short key salt");
  const ownSaltHex = hex(salt);
  const sendKey = deriveSendKey(roomKey, salt);
  let counter = 0n;
  let closed = false;
  /** Our last sealed frames by counter, to hand our own looped-back datagrams on unopened. */
  const ownSent = new Map<bigint, Uint8Array>();
  /** The instance ids our frames carry (a frame naming one proves its run is live: named-proof). */
  const ownIds = new Set<string>();
  /** Notes the instance id of a v1 frame we seal (history answers carry others' ids: not those). */
  const noteOwnId = (data: Uint8Array): void => {
    if (data.length < HEADER_LENGTH || data[0] !== MAGIC_0 || data[1] !== MAGIC_1) return;
    if (isHistoryAnswer(data)) return;
    const id = headerId(data);
    if (ownIds.has(id)) return;
    ownIds.add(id);
    if (ownIds.size > MAX_OWN_IDS) ownIds.delete(ownIds.values().next().value as string);
  };

  const senders = new Map<string, SenderKey>();
  const unproven = new Map<string, Unproven>();
  /** Runs that did not prove themselves in time, until when they are not challenged again. */
  const stale = new Map<string, number>();
  const counts = { undecryptable: 0, replayed: 0, plaintextDropped: 0 };
  const warnings: string[] = [];
  const warned: ((text: string) => void)[] = [];
  let handler: (d: Datagram) => void = () => {};

  /** "An unproven run speaks v1" (a 0.2 member, or a replay of one): the session may speak v1. */
  const legacyHint = new LegacyHint(scheduler);
  const alarm = new PassphraseAlarm(scheduler, (text) => {
    warnings.push(text);
    for (const cb of warned) cb(text);
  });

  /** Seals and sends one frame under our salt; the counter is used even if the send fails. */
  const sealAndSend = (data: Uint8Array): Promise<void> => {
    if (counter > MAX_COUNTER) {
      return Promise.reject(new Error("sending key exhausted (2^64 datagrams)"));
    }
    let sealed: Uint8Array;
    try {
      sealed = sealFrame(sendKey, salt, counter, data);
    } catch (e) {
      return Promise.reject(e);
    }
    exchange.sealing(counter);
    noteOwnId(data);
    if (ownSent.size >= OWN_SENT_KEPT) ownSent.delete(ownSent.keys().next().value as bigint);
    ownSent.set(counter, data);
    counter++; // never reused, even if this send fails
    return inner.send(sealed, "framed");
  };

  const exchange = new FreshnessExchange({
    scheduler,
    random,
    counter: () => counter,
    unproven: () => unproven.size,
    send: (fresh) => {
      if (closed) return;
      sealAndSend(fresh).catch(() => {}); // a lost FRESH frame is repeated or answered again
    },
  });

  const expiry = new Alarm(scheduler, () => expire());
  /** Drops unproven runs that did not prove themselves in time: their frames were replays. */
  const expire = (): void => {
    const now = scheduler.now();
    for (const [s, u] of unproven) {
      // Compared with the very deadline the alarm was armed for: `now - since < timeout` can
      // be true at it (the sum rounds), and would re-arm it at the same instant forever.
      const due = u.since + PROOF_TIMEOUT_MS;
      if (now < due) {
        expiry.arm(due);
        return; // insertion order is age order
      }
      counts.replayed += u.held.length;
      unproven.delete(s);
      stale.delete(s);
      stale.set(s, now + STALE_RUN_MS);
      if (stale.size > MAX_KEY_SALTS) stale.delete(stale.keys().next().value as string);
    }
  };

  /** Remembers a proven run (least recently verified out first). */
  const remember = (saltHex: string, entry: SenderKey): void => {
    senders.delete(saltHex); // re-insert: the Map's order is "least recently verified first"
    entry.at = scheduler.now();
    senders.set(saltHex, entry);
    if (senders.size > MAX_KEY_SALTS) {
      const [oldest, e] = senders.entries().next().value as [string, SenderKey];
      senders.delete(oldest);
      if (!warnedFull && entry.at - (e.at ?? 0) < LIVE_RUN_MS) {
        warnedFull = true;
        const text =
          `more than ${MAX_KEY_SALTS} members sending in this encrypted room: the least recently ` +
          "heard is forgotten, and its next frames wait for it to prove itself live again " +
          "(some may be dropped meanwhile, then repaired)";
        warnings.push(text);
        for (const cb of warned) cb(text);
      }
    }
  };
  /** The one-time warning about runs past MAX_KEY_SALTS was given. */
  let warnedFull = false;

  /**
   * A verified inner v1 frame of a proven run: the id binding, the replay window, then the
   * handler. History answers (a v1 MESSAGE or a RECORD with the HISTORY flag) re-send other
   * members' records under their ids: the id binding does not apply to them.
   */
  const deliver = (
    saltHex: string,
    entry: SenderKey,
    c: bigint,
    opened: Uint8Array,
    d: Datagram,
  ) => {
    const id = headerId(opened);
    const history = isHistoryAnswer(opened);
    if (!history && entry.id !== undefined && entry.id !== id) {
      counts.undecryptable++;
      return;
    }
    if (!entry.window.accept(c)) {
      counts.replayed++;
      return;
    }
    if (entry.id === undefined && !history) entry.id = id;
    remember(saltHex, entry);
    handler({ ...d, data: opened });
  };

  /** Holds a verified frame of a run not proven live yet, and challenges the room. */
  const hold = (
    saltHex: string,
    key: Uint8Array,
    c: bigint,
    opened: Uint8Array | undefined,
    d: Datagram,
  ) => {
    let u = unproven.get(saltHex);
    const staleUntil = stale.get(saltHex);
    if (!u && staleUntil !== undefined) {
      if (scheduler.now() < staleUntil) {
        if (opened) counts.replayed++; // not challenged again so soon
        return;
      }
      stale.delete(saltHex);
    }
    if (!u) {
      if (unproven.size >= MAX_UNPROVEN_RUNS) {
        const [oldest, old] = unproven.entries().next().value as [string, Unproven];
        counts.replayed += old.held.length;
        unproven.delete(oldest);
      }
      u = { key, seen: new Set(), held: [], since: scheduler.now() };
      unproven.set(saltHex, u);
      expiry.arm(u.since + PROOF_TIMEOUT_MS);
      exchange.want(); // repeated by the exchange while some run is unproven
    }
    if (!opened) return; // a FRESH frame: nothing to hold
    if (u.seen.has(c) || u.held.length >= MAX_HELD_PER_RUN) {
      counts.replayed++;
      return;
    }
    u.seen.add(c);
    u.held.push({ counter: c, inner: opened, d });
  };

  /**
   * The run of `saltHex` proved it is live with the frame of counter `c` (it echoed our nonce,
   * or named our instance id): show its held frames from `floor` on, then `proving` (a v1 frame
   * that named us) if given.
   */
  const proven = (
    saltHex: string,
    key: Uint8Array,
    c: bigint,
    floor: bigint,
    proving?: { inner: Uint8Array; d: Datagram },
  ): void => {
    const known = senders.get(saltHex);
    const entry = known ?? { key, window: new ReplayWindow(), id: undefined };
    // The floor (the run's own word for "sealed within the last seconds", or our reach below a
    // frame that named us) never goes above the counter of the very frame that proved it.
    entry.window.raiseFloor(floor <= c ? floor : c);
    if (!proving) entry.window.accept(c);
    remember(saltHex, entry);
    stale.delete(saltHex);
    const u = unproven.get(saltHex);
    if (u) {
      unproven.delete(saltHex);
      for (const h of u.held) {
        // Below the floor: sealed too long ago (a capture). Far above the proof: not a counter
        // the run can have reached (a key holder's forgery): neither moves the window.
        if (h.counter < entry.window.floor || h.counter - c > MAX_COUNTER_JUMP) counts.replayed++;
        else deliver(saltHex, entry, h.counter, h.inner, h.d);
      }
    }
    if (proving) deliver(saltHex, entry, c, proving.inner, proving.d);
  };

  /** A FRESH frame (the sealed layer's own) opened under `saltHex`. Never reaches the session. */
  const onFresh = (
    saltHex: string,
    key: Uint8Array,
    c: bigint,
    f: Fresh,
    known: SenderKey | undefined,
  ) => {
    if (exchange.heard(f)) {
      proven(saltHex, key, c, f.floor);
      return;
    }
    if (known && !known.window.isFar(c)) {
      known.window.accept(c);
      remember(saltHex, known);
      return;
    }
    hold(saltHex, key, c, undefined, { data: new Uint8Array(0), address: "", port: 0 });
  };

  /** Opens one sealed datagram from another run and routes it. */
  const receiveSealed = (d: Datagram): void => {
    const data = d.data;
    if (!looksSealed(data)) {
      counts.undecryptable++; // sealed type range, but not a frame we could have sent
      return;
    }
    const head = readSealedHeader(data); // looksSealed: cannot throw
    const saltHex = hex(head.salt);
    if (saltHex === ownSaltHex) {
      counts.replayed++; // our own run, but not our own loopback: a copy
      return;
    }
    const known = senders.get(saltHex);
    if (known && !known.window.check(head.counter)) {
      counts.replayed++; // refused before spending a decryption
      return;
    }
    const pending = unproven.get(saltHex);
    if (!known && pending?.seen.has(head.counter)) {
      counts.replayed++;
      return;
    }
    let key: Uint8Array | undefined = known?.key ?? pending?.key;
    let opened: Uint8Array;
    try {
      opened = openFrame((s) => {
        key ??= deriveSendKey(roomKey, s);
        return key;
      }, data).inner;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      counts.undecryptable++;
      // A newcomer with another key hears sealed traffic at once (our challenge), and learns.
      if (alarm.foreign(formatFrom(d.address, d.port))) exchange.want();
      return;
    }
    const k = key as Uint8Array;
    alarm.verified();
    if (isFresh(opened)) {
      let f: Fresh;
      try {
        f = decodeFresh(opened);
      } catch {
        counts.undecryptable++; // a FRESH frame of a later version, or damaged by a key holder
        return;
      }
      onFresh(saltHex, k, head.counter, f, known);
      return;
    }
    // The inner bytes must be a v1 frame.
    if (opened.length < HEADER_LENGTH || opened[0] !== MAGIC_0 || opened[1] !== MAGIC_1) {
      counts.undecryptable++;
      return;
    }
    if (known && !known.window.isFar(head.counter)) {
      deliver(saltHex, known, head.counter, opened, d);
      return;
    }
    // Unknown run, or a counter far beyond the window: the run must prove it is live now.
    // A frame naming our instance id does (mcchat 0.3 members' way: their reports about us),
    // even for a run that did not prove itself in time before.
    if (namesOneOf(opened, ownIds)) {
      const c = head.counter;
      proven(saltHex, k, c, c > NAMED_PROOF_REACH ? c - NAMED_PROOF_REACH : 0n, {
        inner: opened,
        d,
      });
      return;
    }
    // Not shown, not delivered: at most, the session speaks v1 for a while so that a real
    // mcchat 0.2 member hears us and names us (legacy-hint.ts).
    legacyHint.unproven(opened);
    hold(saltHex, k, head.counter, opened, d);
  };

  /** Our own datagram looped back: handed on unopened if it is really one we sent. */
  const receiveOwn = (d: Datagram): void => {
    const data = d.data;
    const head = looksSealed(data) ? readSealedHeader(data) : undefined; // cannot throw then
    if (head && hex(head.salt) === ownSaltHex) {
      const mine = ownSent.get(head.counter);
      if (mine) {
        if (!isFresh(mine)) handler({ ...d, data: mine });
        return;
      }
    }
    counts.undecryptable++; // from our address and port, but not ours: forged, say nothing
  };

  const receive = (d: Datagram): void => {
    const { data } = d;
    if (d.self) {
      receiveOwn(d);
      return;
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
      counts.plaintextDropped++; // a plaintext frame or junk (a doctor probe): no alarm
      return;
    }
    receiveSealed(d);
  };

  const security: RoomSecurity = {
    encrypted: true,
    counters: () => ({ ...counts }),
    onWarning(cb) {
      warned.push(cb);
      for (const w of warnings) cb(w);
    },
    onLegacyRun(cb) {
      legacyHint.listen(cb);
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
      if (!(data instanceof Uint8Array) || isFresh(data)) {
        return Promise.reject(new RangeError("not a v1 frame"));
      }
      return sealAndSend(data);
    },
    onDatagram(h: (d: Datagram) => void): void {
      handler = h;
      inner.onDatagram(receive);
    },
    close: () => {
      // Runs that never proved they are live by now: their held frames were never shown.
      for (const u of unproven.values()) counts.replayed += u.held.length;
      unproven.clear();
      closed = true;
      exchange.close();
      alarm.close();
      expiry.disarm();
      return inner.close();
    },
  };
}
