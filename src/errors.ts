/**
 * The one user-facing error class. `cli.ts` catches it and prints its message as a
 * single line on stderr, then exits with `exitCode` (2 = bad usage by default).
 * Anything else that reaches that catch is a bug and is printed with its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** The user cancelled (Esc / Ctrl-C in the wizard): exit 130 without a message. */
export class CancelledError extends UserError {
  constructor() {
    super("cancelled", 130);
    this.name = "CancelledError";
  }
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/** Why a file operation failed, in words (the errno code in brackets), for one error line. */
export function fileErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words = e?.code ? FILE_ERRORS[e.code] : undefined;
  if (words) return `${words} (${e.code})`;
  if (e?.code) return e.code;
  return e instanceof Error ? e.message.split("\n")[0] || String(e) : String(err);
}
