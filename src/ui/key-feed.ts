/**
 * Type-ahead for a row of clack prompts. clack turns each chunk of input into keypresses
 * synchronously, and a prompt stops listening inside the Enter that submits it: the rest
 * of the chunk (a pasted `239.1.100.1⏎26000⏎`) reached no prompt and was lost, and so was
 * anything typed in the moment before the next prompt was made.
 *
 * A KeyFeed reads the real input itself and holds what arrives; the prompts read the feed,
 * which hands them one key at a time and only while a prompt listens. Raw mode stays on
 * for the whole row (type-ahead is neither echoed nor line-buffered by the terminal between
 * prompts). close() gives what no prompt took back to the real input, for whatever reads it
 * next (the chat's line editor).
 */
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** A terminal input as clack uses it: raw mode when it is a TTY. */
type TtyInput = Readable & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown };

/** One key at the start of `text`: an escape sequence (arrows, Alt-x) or one code point. */
export function firstKey(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are the point
  const esc = /^\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|[^\x1b[O])?/su.exec(text);
  if (esc) return esc[0];
  return String.fromCodePoint(text.codePointAt(0) ?? 0);
}

export class KeyFeed extends Readable {
  readonly isTTY: boolean;
  private pending = "";
  private readonly decoder = new StringDecoder("utf8");
  private readonly onData = (chunk: Buffer | string) => {
    this.pending += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    this.pump();
  };

  constructor(private readonly source: TtyInput) {
    super({ read() {} });
    this.isTTY = source.isTTY === true;
    if (this.isTTY) source.setRawMode?.(true);
    source.on("data", this.onData);
    source.resume();
  }

  /** clack asks for raw mode on and off around each prompt: on stays on until close(). */
  setRawMode(_on: boolean): this {
    return this;
  }

  /**
   * Hands the held keys, one at a time, to the prompt that listens now; stops when it
   * stops listening (the Enter that submits it). Called again once the next prompt listens.
   */
  pump(): void {
    while (this.pending !== "" && this.listenerCount("keypress") > 0) {
      const key = firstKey(this.pending);
      this.pending = this.pending.slice(key.length);
      this.emit("data", Buffer.from(key));
    }
  }

  /** Stops reading the real input; keys no prompt took go back to it. */
  close(resume: boolean): void {
    this.source.off("data", this.onData);
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    try {
      if (this.isTTY) this.source.setRawMode?.(false);
      if (rest !== "") this.source.unshift(Buffer.from(rest));
    } catch {
      // The terminal is gone (EIO): nothing left to give back to.
    }
    if (resume) this.source.resume();
    else this.source.pause();
  }
}
