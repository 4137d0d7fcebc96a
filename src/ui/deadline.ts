/**
 * Bounded waits for exit paths: a dead terminal or a reader that stopped reading may
 * never answer, so no teardown step may wait on it forever.
 */

/** How long leaving may take to say BYE and close the sockets. */
export const CLOSE_DEADLINE_MS = 500;

/**
 * Resolves when `p` settles or after `ms`, whichever comes first; true if `p` resolved
 * in time. A rejection counts as done (false), never as a throw: teardown goes on.
 */
export function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** Runs `fn`, ignoring a synchronous throw (e.g. `setRawMode failed with errno: 5` on a dead tty). */
export function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // The terminal or pipe is gone: nothing to restore on it.
  }
}
