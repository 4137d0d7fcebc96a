/**
 * Interactive setup with @clack/prompts. Only call it when input is a TTY: clack
 * waits forever on piped input (see the bun pitfalls note).
 */
import type { Readable, Writable } from "node:stream";
import { cancel, intro, isCancel, outro, select, text } from "@clack/prompts";
import { findEncodingChoice, WIZARD_ENCODINGS } from "../config/encodings.ts";
import { CancelledError } from "../errors.ts";
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
  nick: string;
  /** IPv4 address of the chosen interface; undefined = system default. */
  interface?: string;
  ttl: number;
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
}

const OTHER = "\0other";
const DEFAULT_IFACE = "";

/** The prompt's value, or CancelledError when the user pressed Esc / Ctrl-C. */
function answered<T>(value: T, io: { output?: Writable }): Exclude<T, symbol> {
  if (isCancel(value)) {
    cancel("Setup cancelled.", io);
    throw new CancelledError();
  }
  return value as Exclude<T, symbol>;
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
  const io = { input: opts.input, output: opts.output };
  const d = opts.defaults;
  intro("mcchat setup", io);

  const group = answered(
    await text({
      ...io,
      message: "Multicast group address (239.x.y.z = organisation-local)",
      initialValue: d.group,
      validate: groupProblem,
    }),
    io,
  );
  const port = answered(
    await text({ ...io, message: "UDP port", initialValue: String(d.port), validate: portProblem }),
    io,
  );

  const listed = findEncodingChoice(d.encoding);
  let encoding: string = answered(
    await select({
      ...io,
      message: "Text encoding on the wire (what the other programs use)",
      options: [
        ...WIZARD_ENCODINGS,
        { value: OTHER, label: "other…", hint: "type any encoding name" },
      ],
      initialValue: listed?.value ?? OTHER,
    }),
    io,
  );
  if (encoding === OTHER) {
    encoding = answered(
      await text({
        ...io,
        message: "Encoding name (e.g. windows-1252, koi8-r, euc-jp)",
        initialValue: listed ? "" : d.encoding,
        validate: encodingProblem,
      }),
      io,
    );
  }

  const nick = answered(
    await text({
      ...io,
      message: "Nickname (up to 32 bytes)",
      initialValue: d.nick,
      validate: nickInputProblem,
    }),
    io,
  );

  const ifaces = interfaceChoices(opts);
  let iface: string = DEFAULT_IFACE;
  if (ifaces.any) {
    iface = answered(
      await select({
        ...io,
        message: "Network interface",
        options: ifaces.options,
        initialValue: ifaces.initialValue,
      }),
      io,
    );
  }

  const ttl = answered(
    await text({
      ...io,
      message: "TTL (1 = this subnet only, 0 = this host only)",
      initialValue: String(d.ttl),
      validate: ttlProblem,
    }),
    io,
  );

  outro("Setup done.", io);
  if (opts.resumeInput !== false) (opts.input ?? process.stdin).resume();
  const answers: WizardAnswers = {
    group: group.trim(),
    port: Number(port.trim()),
    encoding: normalizeEncoding(encoding) ?? encoding,
    nick,
    ttl: Number(ttl.trim()),
  };
  if (iface !== DEFAULT_IFACE) answers.interface = iface;
  return answers;
}
