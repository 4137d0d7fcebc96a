/**
 * How mcchat stops: the first stop request (a signal, a lost terminal, stdout's reader gone)
 * aborts a signal every part of the program leaves by; a watchdog and a second signal make
 * sure the process ends anyway. cli.ts's main() wires it to the process.
 */

/** Why the process was asked to stop: a signal, the terminal went away, or stdout's reader did. */
export type StopReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "hangup" | "epipe";

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** How long the orderly exit after a stop request may take before the process exits anyway. */
export const EXIT_GRACE_MS = 800;

/**
 * The exit status for a stop that did not finish in an orderly way (the watchdog, a
 * second signal, a wizard cut short): 128 + the signal number, as a shell reports a
 * process killed by it; a hung-up terminal counts as SIGHUP (129); a reader that went
 * away (EPIPE) is a normal end (0), as for `yes | head -1`.
 */
export function stopStatus(why: StopReason): number {
  if (why === "epipe") return 0;
  if (why === "hangup") return 128 + SIGNAL_NUMBERS.SIGHUP;
  return 128 + SIGNAL_NUMBERS[why];
}

export interface ExitGuard {
  /** Aborted on the first stop request (its reason: the StopReason): every part leaves in order. */
  readonly signal: AbortSignal;
  /** The first stop request, if any. */
  readonly reason: StopReason | undefined;
  /**
   * Ask the program to stop. The first request aborts `signal` and arms the watchdog:
   * if the orderly exit has not finished `graceMs` later, the process exits anyway. A
   * second SIGINT or SIGTERM (after any signal) exits at once; a repeated SIGHUP does not
   * (one hangup can deliver it more than once), nor does a hangup or EPIPE noticed later.
   */
  stop(why: StopReason): void;
  /** The orderly exit has its status: the watchdog, if it fires now, uses it. */
  settle(code: number): void;
}

export function exitGuard(exit: (code: number) => void, graceMs = EXIT_GRACE_MS): ExitGuard {
  const controller = new AbortController();
  let reason: StopReason | undefined;
  let lastSignal: StopReason | undefined;
  let settled: number | undefined;
  return {
    signal: controller.signal,
    get reason() {
      return reason;
    },
    stop(why) {
      const isSignal = why.startsWith("SIG");
      if (isSignal && lastSignal !== undefined && !(why === "SIGHUP" && lastSignal === "SIGHUP")) {
        return exit(settled ?? stopStatus(why));
      }
      if (isSignal) lastSignal = why;
      if (reason !== undefined) return;
      reason = why;
      setTimeout(() => exit(settled ?? stopStatus(why)), graceMs);
      controller.abort(why); // signal.reason: the StopReason (a transcript's close marker says it)
    },
    settle(code) {
      settled = code;
    },
  };
}
