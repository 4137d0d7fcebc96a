/**
 * Who doctor heard while listening (pure: datagrams in, a list out). Frames on the
 * companion port P+1 name members (nick, address, instance); plain text on the room port
 * P comes from legacy programs (or members bridging to them); sealed datagrams are an
 * encrypted room's (their nicks cannot be read without the passphrase).
 */
import type { Datagram } from "../net/transport.ts";
import { DecodeError, decode, isFramed, isSealed } from "../protocol/index.ts";
import { decodeText } from "../protocol/text-codec.ts";
import { formatFrom } from "../session/room-session.ts";
import { sanitizeForTerminal, sanitizeNick } from "../ui/sanitize.ts";
import type { Check } from "./checks.ts";

/** How many of each kind doctor lists (a flood must not flood the report). */
export const MAX_LISTED = 64;
/** Characters of a legacy sender's sample text. */
const SAMPLE_CHARS = 60;

export interface MemberSeen {
  nick?: string;
  /** Instance id (16 hex digits). */
  id: string;
  /** "address:port" the frames came from. */
  from: string;
  /** Frame types heard, in first-heard order. */
  heard: string[];
  /** A BYE was heard (the member left while doctor listened). */
  left: boolean;
  frames: number;
}

export interface LegacySeen {
  from: string;
  datagrams: number;
  /** The first datagram's text, decoded (UTF-8, else GB18030) and made safe for a terminal. */
  sample: string;
  /** Nick of the member whose frames come from the same address:port (it bridges to legacy programs). */
  bridgedBy?: string;
}

export interface SealedSeen {
  from: string;
  datagrams: number;
}

export interface CensusResult {
  members: MemberSeen[];
  legacy: LegacySeen[];
  encrypted: SealedSeen[];
  /** Datagrams that are none of the above (damaged frames, text on P+1, frames on P). */
  other: number;
}

export class Census {
  private readonly members = new Map<string, MemberSeen>();
  private readonly legacy = new Map<string, LegacySeen>();
  private readonly sealed = new Map<string, SealedSeen>();
  private other = 0;

  /** @param ownId our loop-back probe's instance id: heard back, it is not a member. */
  constructor(private readonly ownId: string) {}

  /** A sealed datagram (an encrypted room's) was heard. */
  get heardSealed(): boolean {
    return this.sealed.size > 0;
  }

  /** Takes one datagram; returns true when it is our own probe, come back. */
  take(d: Datagram): boolean {
    const from = formatFrom(d.address, d.port);
    if (d.channel === "legacy") {
      if (isFramed(d.data)) {
        this.other++;
        return false;
      }
      if (d.self) return false;
      const seen = this.legacy.get(from);
      if (seen) seen.datagrams++;
      else if (this.legacy.size < MAX_LISTED) {
        const text = decodeText(d.data, "auto");
        const lines = sanitizeForTerminal(text.replace(/[\r\n]+$/, ""), {
          maxLength: SAMPLE_CHARS,
          maxLines: 3,
        });
        const sample = `${lines[0] ?? ""}${lines.length > 1 ? " …" : ""}`;
        this.legacy.set(from, { from, datagrams: 1, sample });
      }
      return false;
    }
    if (isSealed(d.data)) {
      const seen = this.sealed.get(from);
      if (seen) seen.datagrams++;
      else if (this.sealed.size < MAX_LISTED) this.sealed.set(from, { from, datagrams: 1 });
      return false;
    }
    let frame: ReturnType<typeof decode>;
    try {
      frame = decode(d.data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.other++;
      return false;
    }
    if (frame.id === this.ownId) return true;
    if (d.self) return false;
    // A member is its instance id where it was first heard (as the session counts it).
    let m = this.members.get(frame.id);
    if (!m) {
      if (this.members.size >= MAX_LISTED) return false;
      m = { id: frame.id, from, heard: [], left: false, frames: 0 };
      this.members.set(frame.id, m);
    }
    if (m.from !== from) return false;
    m.frames++;
    if (!m.heard.includes(frame.type)) m.heard.push(frame.type);
    if ("nick" in frame && frame.nick) m.nick = sanitizeNick(frame.nick);
    // Presence: 0.2's HELLO/HEARTBEAT/BYE, 1.1's PRESENCE (whose phase says which).
    const phase = frame.type === "presence" ? frame.phase : frame.type;
    if (phase === "bye") m.left = true;
    else if (phase === "hello" || phase === "heartbeat") m.left = false;
    return false;
  }

  result(): CensusResult {
    const members = [...this.members.values()];
    const legacy = [...this.legacy.values()].map((l) => {
      const bridge = members.find((m) => m.from === l.from);
      return bridge ? { ...l, bridgedBy: bridge.nick ?? bridge.id } : l;
    });
    return { members, legacy, encrypted: [...this.sealed.values()], other: this.other };
  }
}

export function memberLine(m: MemberSeen): string {
  const state = m.left ? ", left (BYE)" : "";
  return `${m.nick ?? "(no nick yet)"}  ${m.from}  instance ${m.id}  (${m.heard.join(", ")}${state})`;
}

export function legacyLine(l: LegacySeen): string {
  const who = l.bridgedBy ? `bridged by ${l.bridgedBy}` : "legacy sender";
  return `${who}  ${l.from}  ${l.datagrams} datagram${l.datagrams === 1 ? "" : "s"}: "${l.sample}"`;
}

export function sealedLine(s: SealedSeen): string {
  return `encrypted traffic (cannot read nicks without the passphrase)  ${s.from}  ${s.datagrams} datagram${s.datagrams === 1 ? "" : "s"}`;
}

/** Who was heard in `seconds`: ok when anyone, warn when nobody. */
export function checkRoom(
  room: { group: string; port: number; ttl: number; hostOnly?: boolean; source?: string },
  c: CensusResult | undefined,
  seconds: number,
  stoppedEarly = false,
): Check {
  if (!c) return { id: "room", status: "skip", summary: "not joined: nothing heard", details: [] };
  const details = [
    ...c.members.map(memberLine),
    ...c.legacy.map(legacyLine),
    ...c.encrypted.map(sealedLine),
  ];
  if (c.other > 0)
    details.push(
      `${c.other} other datagram${c.other === 1 ? "" : "s"} (damaged, or from a newer mcchat)`,
    );
  const parts: string[] = [];
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  if (c.members.length) parts.push(n(c.members.length, "member", "members"));
  const plain = c.legacy.filter((l) => !l.bridgedBy).length;
  if (plain) parts.push(n(plain, "legacy sender", "legacy senders"));
  if (c.encrypted.length)
    parts.push(n(c.encrypted.length, "encrypted sender", "encrypted senders"));
  const s = `${seconds} s${stoppedEarly ? " (stopped early)" : ""}`;
  if (room.source) details.push(`--source: only ${room.source} can be heard`);
  if (room.hostOnly) details.push("--ttl 0: only this host's members can be heard");
  if (parts.length > 0) {
    return { id: "room", status: "ok", summary: `heard ${parts.join(", ")} in ${s}`, details };
  }
  return {
    id: "room",
    status: "warn",
    summary: `heard no one in ${s} on ${room.group}:${room.port}`,
    details,
    fix: room.source
      ? `is ${room.source} sending to ${room.group}:${room.port}? A network without IGMPv3 (routers, snooping switches) may drop source-specific joins; or listen longer (--timeout)`
      : `if others are in the room: same group and port? run mcchat doctor on their host too; across a router use --ttl 2 or more; a switch with IGMP snooping and no querier stops forwarding after a few minutes (enable an IGMP querier); or listen longer (--timeout)`,
  };
}
