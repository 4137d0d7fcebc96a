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
