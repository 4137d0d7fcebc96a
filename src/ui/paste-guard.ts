/**
 * Paste confirmation for the chat room (like weechat's): lines that arrive together (a paste:
 * readline hands them over within one read, or within PASTE_WINDOW_MS) are not sent as so many
 * messages at once; the user is asked "send 20 lines? [y/N]" first, and the next line typed
 * answers. A line typed alone goes through at once. Pure state: timers are passed in.
 */

/** Lines arriving within this long of the first are one batch (a paste, not typing). */
export const PASTE_WINDOW_MS = 30;
/** Characters of the first pasted line shown in the question. */
export const PASTE_PREVIEW_CHARS = 40;

export interface PasteGuardOptions {
  /** Ask before sending a batch of several lines (false: every line goes through). */
  confirm: boolean;
  /** One-shot timer; returns its cancel. */
  setTimer: (fn: () => void, ms: number) => () => void;
  /** Lines to act on (typed, or a confirmed paste), in order. */
  pass: (lines: string[]) => void;
  /** Say a line of the question or its outcome (without the "--" lead). */
  say: (line: string) => void;
}

/** The question for a held paste. */
export function pasteQuestion(lines: readonly string[]): string {
  const first = lines[0] ?? "";
  const preview =
    first.length > PASTE_PREVIEW_CHARS ? `${first.slice(0, PASTE_PREVIEW_CHARS)}…` : first;
  return `paste of ${lines.length} lines (first: ${JSON.stringify(preview)}): send them? [y/N]`;
}

const isYes = (line: string) => /^\s*y(es)?\s*$/i.test(line);

export class PasteGuard {
  private batch: string[] = [];
  private cancel: (() => void) | undefined;
  /** A paste waiting for its answer. */
  private pending: string[] | undefined;

  constructor(private readonly o: PasteGuardOptions) {}

  /** Whether a paste waits for its answer. */
  get asking(): boolean {
    return this.pending !== undefined;
  }

  /** One line from the input (blank lines count for nothing). */
  line(text: string): void {
    if (!this.o.confirm && this.pending === undefined) {
      this.o.pass([text]);
      return;
    }
    this.batch.push(text);
    this.cancel ??= this.o.setTimer(() => this.flush(), PASTE_WINDOW_MS);
  }

  /** Drop whatever waits (leaving). */
  close(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.batch = [];
    this.pending = undefined;
  }

  private flush(): void {
    this.cancel = undefined;
    const batch = this.batch;
    this.batch = [];
    const lines = batch.filter((l) => l.trim() !== "");
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      if (batch.length === 1) {
        if (isYes(batch[0] as string)) this.o.pass(pending);
        else this.o.say(`not sent (${pending.length} pasted lines)`);
        return;
      }
      // Another paste instead of an answer: the first is dropped, the new one asked about.
      this.o.say(`not sent (${pending.length} pasted lines)`);
    }
    if (lines.length <= 1) {
      this.o.pass(batch);
      return;
    }
    this.pending = lines;
    this.o.say(pasteQuestion(lines));
  }
}
