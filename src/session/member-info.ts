/** A member as /who shows it. */
export interface MemberInfo {
  id: string;
  nick: string;
  from: string;
  /** When last heard: wall-clock ms from a session's members() (its peer table keeps monotonic ms). */
  lastSeen: number;
  self: boolean;
  /**
   * When it took its current nick, as this member saw it (its own monotonic ms; compare only
   * with other members of the same members() call): ourselves at start or at /nick, a peer when
   * first heard (its start, from the age it says) or when heard changing to this nick. The
   * first holder of a look-alike nick keeps it plain (ui/format.ts displayName).
   */
  nickSince?: number;
  /**
   * The wire revision it speaks: "1.0" for mcchat 0.2 (plain text only: it is sent a v1 copy of
   * our text, and nothing it could take for a loss), "1.1" for typed streams; undefined while
   * not known yet (and for ourselves).
   */
  wire?: "1.0" | "1.1";
}
