/**
 * `--log FILE`: every session event appended to FILE as one JSON line, in the shape
 * `--json` prints (formatJson), so `mcchat replay FILE` can show the room again; a session
 * marker line where the session opens and closes (session-marker.ts), with its date.
 *
 * Each line is written with one synchronous write as the event is handed on: a process
 * killed with SIGKILL loses nothing it has already shown. A failed write is one warning,
 * then the log stops and the chat goes on.
 *
 * The path is not trusted (it may be in a directory others can write, such as /tmp): the
 * last component is never followed (O_NOFOLLOW: a planted symlink to ~/.bashrc is refused),
 * a FIFO or device cannot block the open (O_NONBLOCK) and is refused after it, and what was
 * opened is checked on its descriptor (fstat, no lstat-then-open race): a regular file, owned
 * by us, with one link (a hard link planted to someone's file is refused). A new file is
 * created exclusively (O_EXCL), 0600; an existing one of ours that others may read is changed
 * to 0600, with a warning. A directory others may write (without the sticky bit) is a
 * warning: they could swap the log between runs.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { fileErrorText, UserError } from "../errors.ts";
import type { Room, RoomClient } from "../room/room.ts";
import type { SessionEvent } from "../session/events.ts";
import { formatJson } from "./format.ts";
import { markerJson, type SessionMarker } from "./session-marker.ts";

/** What the transcript needs from the file system; injected in tests. */
export interface TranscriptFs {
  openSync(path: string, flags: number, mode: number): number;
  fstatSync(fd: number): { mode: number; uid: number; nlink: number; isFile(): boolean };
  /** The log's directory, for the warning about others who may write it. */
  statSync(path: string): { mode: number };
  fchmodSync(fd: number, mode: number): void;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  closeSync(fd: number): void;
}

const NODE_FS: TranscriptFs = { openSync, fstatSync, statSync, fchmodSync, writeSync, closeSync };

/** Flags every open of the log uses (O_NOFOLLOW / O_NONBLOCK are 0 where the OS has none). */
const OPEN_FLAGS =
  constants.O_WRONLY |
  constants.O_APPEND |
  (constants.O_NOFOLLOW ?? 0) |
  (constants.O_NONBLOCK ?? 0);
/** Opens tried when the path appears and disappears between "create" and "open existing". */
const OPEN_ATTEMPTS = 3;
/** Mode bits: others may write the directory / the sticky bit (only owners may unlink). */
const OTHERS_WRITE = 0o022;
const STICKY = 0o1000;

export interface Transcript {
  readonly path: string;
  /** Append one event (a no-op after a failed write or close). */
  write(e: SessionEvent): void;
  /** Append a session open/close marker (session-marker.ts), as write does. */
  mark(m: SessionMarker): void;
  /** True until a write failed. */
  readonly ok: boolean;
  close(): void;
}

export interface TranscriptOptions {
  /** One warning line's text (no "mcchat: warning:" prefix). */
  warn(text: string): void;
  fs?: TranscriptFs;
  /** Our effective uid (default process.geteuid; undefined where there is none: no owner check). */
  uid?: number;
}

const refused = (path: string, why: string) =>
  new UserError(`refusing the log ${path}: ${why} (give the path of a regular file of yours)`, 1);

/** Opens the log's descriptor without following a link; `created` when we made the file. */
function openNoFollow(fs: TranscriptFs, path: string): { fd: number; created: boolean } {
  let last: unknown;
  for (let i = 0; i < OPEN_ATTEMPTS; i++) {
    try {
      return {
        fd: fs.openSync(path, OPEN_FLAGS | constants.O_CREAT | constants.O_EXCL, 0o600),
        created: true,
      };
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") break;
    }
    try {
      return { fd: fs.openSync(path, OPEN_FLAGS, 0o600), created: false };
    } catch (err) {
      last = err;
      // Removed since the create saw it: try again (bounded).
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") break;
    }
  }
  const code = (last as NodeJS.ErrnoException)?.code;
  // O_NOFOLLOW on a symlink: ELOOP (Linux), EMLINK (FreeBSD), EFTYPE (NetBSD).
  if (code === "ELOOP" || code === "EMLINK" || code === "EFTYPE") {
    throw refused(path, "it is a symbolic link");
  }
  // A FIFO (or socket) with no reader: O_NONBLOCK made the open fail instead of waiting.
  if (code === "ENXIO") throw refused(path, "it is not a regular file (a FIFO or socket)");
  throw new UserError(`cannot open the log ${path}: ${fileErrorText(last)}`, 1);
}

/**
 * Open (create or append to) a transcript. Throws UserError (exit 1) when the file cannot be
 * opened, is not a regular file of ours (a symlink, FIFO, device, another user's file, a hard
 * link), or is readable by others and cannot be made private.
 */
export function openTranscript(path: string, o: TranscriptOptions): Transcript {
  const fs = o.fs ?? NODE_FS;
  const uid = "uid" in o ? o.uid : process.geteuid?.();
  const { fd, created } = openNoFollow(fs, path);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refused(path, "it is not a regular file");
    if (uid !== undefined && st.uid !== uid) {
      throw refused(path, `it belongs to another user (uid ${st.uid})`);
    }
    if (st.nlink !== 1) throw refused(path, `it has ${st.nlink} hard links`);
    const loose = st.mode & 0o077;
    if (!created && loose !== 0) {
      const was = (st.mode & 0o777).toString(8).padStart(4, "0");
      try {
        fs.fchmodSync(fd, 0o600);
      } catch (err) {
        throw new UserError(
          `the log ${path} is readable by others (mode ${was}) and cannot be made private: ${fileErrorText(err)}`,
          1,
        );
      }
      o.warn(`the log ${path} had mode ${was}: changed to 0600 (only you can read it)`);
    }
  } catch (err) {
    fs.closeSync(fd);
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot open the log ${path}: ${fileErrorText(err)}`, 1);
  }
  warnLooseDirectory(fs, path, o.warn);
  const encoder = new TextEncoder();
  let open = true;
  let ok = true;
  const append = (line: string) => {
    if (!open || !ok) return;
    const bytes = encoder.encode(`${line}\n`);
    try {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      ok = false;
      o.warn(`cannot write the log ${path}: ${fileErrorText(err)}; logging stopped`);
    }
  };
  return {
    path,
    get ok() {
      return ok;
    },
    write(e) {
      append(formatJson(e));
    },
    mark(m) {
      append(markerJson(m));
    },
    close() {
      if (!open) return;
      open = false;
      try {
        fs.closeSync(fd);
      } catch {}
    },
  };
}

/** A warning when others may write the log's directory and it has no sticky bit. */
function warnLooseDirectory(fs: TranscriptFs, path: string, warn: (text: string) => void): void {
  const dir = dirname(path);
  let mode: number;
  try {
    mode = fs.statSync(dir).mode;
  } catch {
    return; // the file is open: a directory we cannot stat changes nothing
  }
  if ((mode & OTHERS_WRITE) !== 0 && (mode & STICKY) === 0) {
    const m = (mode & 0o7777).toString(8).padStart(4, "0");
    warn(
      `the log's directory ${dir} is writable by other users (mode ${m}): they can replace the log between runs (use a directory only you can write)`,
    );
  }
}

/**
 * `--log`: the transcript as a client of the room. Attach it before the room opens: it gets
 * every event from the first one on, each written as it is handed on (unpaced: the write is
 * synchronous). Not the owner: the room does not end with it. Its own warnings (a failed
 * write) are for the room's other clients (`client.warn`), never in the log.
 */
export function attachTranscript(room: Room, transcript: Transcript): RoomClient {
  return room.attach({ name: "the transcript", onEvent: (e) => transcript.write(e) });
}
