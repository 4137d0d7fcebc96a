/**
 * `--log FILE`: every session event appended to FILE as one JSON line, in the shape
 * `--json` prints (formatJson), so `mcchat replay FILE` can show the room again.
 *
 * Each line is written with one synchronous write as the event is handed on: a process
 * killed with SIGKILL loses nothing it has already shown. The file is private (a room's
 * talk, maybe an encrypted room's): created 0600; an existing regular file that others
 * may read is changed to 0600, with a warning. A failed write is one warning, then the
 * log stops and the chat goes on.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from "node:fs";
import { fileErrorText, UserError } from "../errors.ts";
import type { Room, RoomClient } from "../room/room.ts";
import type { SessionEvent } from "../session/events.ts";
import { formatJson } from "./format.ts";

/** What the transcript needs from the file system; injected in tests. */
export interface TranscriptFs {
  openSync(path: string, flags: number, mode: number): number;
  fstatSync(fd: number): { mode: number; isFile(): boolean };
  fchmodSync(fd: number, mode: number): void;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  closeSync(fd: number): void;
}

const NODE_FS: TranscriptFs = { openSync, fstatSync, fchmodSync, writeSync, closeSync };

export interface Transcript {
  readonly path: string;
  /** Append one event (a no-op after a failed write or close). */
  write(e: SessionEvent): void;
  /** True until a write failed. */
  readonly ok: boolean;
  close(): void;
}

export interface TranscriptOptions {
  /** One warning line's text (no "mcchat: warning:" prefix). */
  warn(text: string): void;
  fs?: TranscriptFs;
}

/**
 * Open (create or append to) a transcript. Throws UserError when the file cannot be
 * opened, or is readable by others and cannot be made private.
 */
export function openTranscript(path: string, o: TranscriptOptions): Transcript {
  const fs = o.fs ?? NODE_FS;
  let fd: number;
  try {
    fd = fs.openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch (err) {
    throw new UserError(`cannot open the log ${path}: ${fileErrorText(err)}`, 1);
  }
  try {
    const st = fs.fstatSync(fd);
    const loose = st.mode & 0o077;
    if (st.isFile() && loose !== 0) {
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
  const encoder = new TextEncoder();
  let open = true;
  let ok = true;
  return {
    path,
    get ok() {
      return ok;
    },
    write(e) {
      if (!open || !ok) return;
      const bytes = encoder.encode(`${formatJson(e)}\n`);
      try {
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      } catch (err) {
        ok = false;
        o.warn(`cannot write the log ${path}: ${fileErrorText(err)}; logging stopped`);
      }
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

/**
 * `--log`: the transcript as a client of the room. Attach it before the room opens: it gets
 * every event from the first one on, each written as it is handed on (unpaced: the write is
 * synchronous). Not the owner: the room does not end with it. Its own warnings (a failed
 * write) are for the room's other clients (`client.warn`), never in the log.
 */
export function attachTranscript(room: Room, transcript: Transcript): RoomClient {
  return room.attach({ name: "the transcript", onEvent: (e) => transcript.write(e) });
}
