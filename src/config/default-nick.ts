/**
 * The nickname offered when none is given: the login name, else the name the passwd
 * database gives our uid, else the host name, else "guest".
 *
 * Why not just os.userInfo(): under Bun 1.4 its `username` is $USER, or "unknown" when
 * $USER is unset (it never asks the passwd database). Shells started without a login
 * (tmux's server started from a service, `docker exec`, cron, su without -l) often have
 * no $USER, and root in tmux was offered the nick "unknown".
 */
import { readFileSync } from "node:fs";
import os from "node:os";

/** Where the name comes from; injected in tests. */
export interface NickSources {
  env: Record<string, string | undefined>;
  /** Our uid (undefined on Windows). */
  uid: number | undefined;
  /** os.userInfo().username, or undefined if it throws. */
  userName(): string | undefined;
  /** The text of /etc/passwd (throws if unreadable). */
  readPasswd(): string;
  hostname(): string;
}

export function systemNickSources(): NickSources {
  return {
    env: process.env,
    uid: process.getuid?.(),
    userName: () => {
      try {
        return os.userInfo().username;
      } catch {
        return undefined;
      }
    },
    readPasswd: () => readFileSync("/etc/passwd", "utf8"),
    hostname: () => os.hostname(),
  };
}

/** Keep what a nick may hold (letters, digits, _ . -), at most 32 characters. */
export function cleanNick(name: string | undefined): string {
  return (name ?? "").replace(/[^\p{L}\p{N}_.-]/gu, "").slice(0, 32);
}

/** The login name of `uid` in passwd-format text, if listed. */
export function passwdName(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && fields[2] === String(uid) && fields[0]) return fields[0];
  }
  return undefined;
}

/** Bun's os.userInfo() answers "unknown" when it does not know. */
const UNKNOWN = "unknown";

/** A default nickname (never empty): see the module comment for the order. */
export function defaultNick(src: NickSources = systemNickSources()): string {
  const candidates: (() => string | undefined)[] = [
    () => src.env.USER,
    () => src.env.LOGNAME,
    () => src.env.USERNAME, // Windows
    () => {
      const name = src.userName();
      return name === UNKNOWN ? undefined : name;
    },
    () => {
      if (src.uid === undefined) return undefined;
      try {
        return passwdName(src.readPasswd(), src.uid);
      } catch {
        return undefined;
      }
    },
    () => src.hostname().split(".")[0],
  ];
  for (const candidate of candidates) {
    const nick = cleanNick(candidate());
    if (nick) return nick;
  }
  return "guest";
}
