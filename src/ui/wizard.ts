/**
 * Interactive setup with @clack/prompts. Only call it when input is a TTY: clack
 * waits forever on piped input (see the bun pitfalls note).
 */
import type { Readable, Writable } from "node:stream";
import { cancel, confirm, intro, isCancel, outro, password, select, text } from "@clack/prompts";
import { findEncodingChoice, WIZARD_ENCODINGS } from "../config/encodings.ts";
import { CancelledError } from "../errors.ts";
import { MAX_NICK_BYTES } from "../protocol/constants.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";
import {
  encodingProblem,
  groupProblem,
  nickInputProblem,
  portProblem,
  ttlProblem,
} from "./wizard-validate.ts";

export interface WizardAnswers {
  group: string;
  port: number;
  /** A text-codec name (normalizeEncoding's form), e.g. "utf8", "gbk". */
  encoding: string;
  /** The room has classic (legacy) programs: also send our messages to them as plain text. */
  legacy: boolean;
  nick: string;
  /** IPv4 address of the chosen interface; undefined = system default. */
  interface?: string;
  ttl: number;
  /**
   * A private room's passphrase; absent = an open room. As a default: the saved one
   * (the wizard offers to keep it, never shows it).
   */
  passphrase?: string;
  /** The user asked to save the passphrase in the (0600) config file. */
  savePassphrase?: boolean;
}

export interface WizardOptions {
  /** Initial values; `interface` may be a name or an address. */
  defaults: WizardAnswers;
  interfaces: readonly { name: string; address: string }[];
  input?: Readable;
  output?: Writable;
  /**
   * Resume `input` after the last prompt (default true): clack leaves it paused and
   * a readline interface made afterwards would get nothing. Pass false if you will
   * not read it: a flowing stdin keeps the process alive.
   */
  resumeInput?: boolean;
  /**
   * Aborted (SIGTERM, SIGHUP, terminal gone): the wizard throws CancelledError at once.
   * clack's own reaction to the signal restores raw mode first, which throws on a
   * hung-up terminal and then never settles, so the wizard does not wait for it.
   */
  signal?: AbortSignal;
  /**
   * Ask for a passphrase (default true). False when this run's passphrase comes from
   * MCCHAT_PASSPHRASE or --passphrase-file, which beat the wizard's answer.
   */
  askPassphrase?: boolean;
}

const OTHER = "\0other";
const DEFAULT_IFACE = "";

/** The prompt's value, or CancelledError when the user pressed Esc / Ctrl-C. */
function answered<T>(value: T, io: { output?: Writable }): Exclude<T, symbol> {
  if (isCancel(value)) {
    try {
      cancel("Setup cancelled.", io);
    } catch {
      // The terminal is gone.
    }
    throw new CancelledError();
  }
  return value as Exclude<T, symbol>;
}

/** The prompt's answer, or CancelledError as soon as `signal` is aborted. */
function ask<T>(prompt: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return prompt;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener("abort", onAbort, { once: true });
    prompt.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function interfaceChoices(opts: WizardOptions) {
  const v4 = opts.interfaces.filter((i) => !i.address.includes(":"));
  const want = opts.defaults.interface;
  const hit = v4.find((i) => i.address === want) ?? v4.find((i) => i.name === want);
  return {
    options: [
      { value: DEFAULT_IFACE, label: "system default", hint: "let the routing table choose" },
      ...v4.map((i) => ({ value: i.address, label: `${i.name} (${i.address})` })),
    ],
    initialValue: hit?.address ?? DEFAULT_IFACE,
    any: v4.length > 0,
  };
}

export async function runWizard(opts: WizardOptions): Promise<WizardAnswers> {
  try {
    return await wizard(opts);
  } catch (err) {
    // Stopped from outside (SIGTERM…): say so, if the terminal is still there.
    if (err instanceof CancelledError && opts.signal?.aborted) {
      try {
        cancel("Setup cancelled.", { output: opts.output });
      } catch {
        // The terminal is gone.
      }
    }
    throw err;
  }
}

async function wizard(opts: WizardOptions): Promise<WizardAnswers> {
  const signal = opts.signal;
  const io = { input: opts.input, output: opts.output, signal };
  const d = opts.defaults;
  if (signal?.aborted) throw new CancelledError();
  intro("mcchat setup", io);

  const group = answered(
    await ask(
      text({
        ...io,
        message: "Multicast group address (239.x.y.z = organisation-local)",
        initialValue: d.group,
        validate: groupProblem,
      }),
      signal,
    ),
    io,
  );
  const port = answered(
    await ask(
      text({ ...io, message: "UDP port", initialValue: String(d.port), validate: portProblem }),
      signal,
    ),
    io,
  );

  const listed = findEncodingChoice(d.encoding);
  let encoding: string = answered(
    await ask(
      select({
        ...io,
        message: "Text encoding on the wire (what the other programs use)",
        options: [
          ...WIZARD_ENCODINGS,
          { value: OTHER, label: "other…", hint: "type any encoding name" },
        ],
        initialValue: listed?.value ?? OTHER,
      }),
      signal,
    ),
    io,
  );
  if (encoding === OTHER) {
    encoding = answered(
      await ask(
        text({
          ...io,
          message: "Encoding name (e.g. windows-1252, koi8-r, euc-jp)",
          initialValue: listed ? "" : d.encoding,
          validate: encodingProblem,
        }),
        signal,
      ),
      io,
    );
  }

  const legacy = answered(
    await ask(
      confirm({
        ...io,
        message: "Are classic (legacy) chat programs in this room?",
        initialValue: d.legacy,
      }),
      signal,
    ),
    io,
  );

  // A room with classic programs stays open: they cannot read sealed frames.
  const secret =
    opts.askPassphrase === false || legacy ? undefined : await askPassphrase(d.passphrase, io);

  const nick = answered(
    await ask(
      text({
        ...io,
        message: `Nickname (up to ${MAX_NICK_BYTES} bytes)`,
        initialValue: d.nick,
        validate: nickInputProblem,
      }),
      signal,
    ),
    io,
  );

  const ifaces = interfaceChoices(opts);
  let iface: string = DEFAULT_IFACE;
  if (ifaces.any) {
    iface = answered(
      await ask(
        select({
          ...io,
          message: "Network interface",
          options: ifaces.options,
          initialValue: ifaces.initialValue,
        }),
        signal,
      ),
      io,
    );
  }

  const ttl = answered(
    await ask(
      text({
        ...io,
        message: "TTL (1 = this subnet only, 0 = this host only)",
        initialValue: String(d.ttl),
        validate: ttlProblem,
      }),
      signal,
    ),
    io,
  );

  outro("Setup done.", io);
  if (opts.resumeInput !== false) (opts.input ?? process.stdin).resume();
  const answers: WizardAnswers = {
    group: group.trim(),
    port: Number(port.trim()),
    encoding: normalizeEncoding(encoding) ?? encoding,
    legacy,
    nick,
    ttl: Number(ttl.trim()),
  };
  if (iface !== DEFAULT_IFACE) answers.interface = iface;
  if (secret) {
    answers.passphrase = secret.passphrase;
    answers.savePassphrase = secret.save;
  }
  return answers;
}

/**
 * The passphrase questions: keep the saved one (if any), else a masked prompt (empty =
 * an open room), then whether to save it (default no). Undefined = an open room.
 */
async function askPassphrase(
  saved: string | undefined,
  io: { input?: Readable; output?: Writable; signal?: AbortSignal },
): Promise<{ passphrase: string; save: boolean } | undefined> {
  const signal = io.signal;
  if (saved) {
    const keep = answered(
      await ask(
        confirm({
          ...io,
          message: "Keep the saved passphrase (a private room)?",
          initialValue: true,
        }),
        signal,
      ),
      io,
    );
    if (keep) return { passphrase: saved, save: true };
  }
  const passphrase = answered(
    await ask(
      password({ ...io, message: "Passphrase for a private room (empty: open room)" }),
      signal,
    ),
    io,
  );
  if (!passphrase) return undefined;
  const save = answered(
    await ask(
      confirm({
        ...io,
        message: "Save the passphrase in the config file?",
        initialValue: false,
      }),
      signal,
    ),
    io,
  );
  return { passphrase, save };
}
