/**
 * Interactive setup with @clack/prompts. Only call it when input is a TTY: clack
 * waits forever on piped input (see the bun pitfalls note).
 */
import type { Readable, Writable } from "node:stream";
import {
  cancel,
  confirm,
  intro,
  isCancel,
  log,
  outro,
  password,
  select,
  text,
} from "@clack/prompts";
import { findEncodingChoice, WIZARD_ENCODINGS } from "../config/encodings.ts";
import { isInterfaceLocalGroup, validateGroup } from "../config/options.ts";
import { CancelledError } from "../errors.ts";
import { MAX_NICK_BYTES } from "../protocol/constants.ts";
import { normalizeEncoding } from "../protocol/text-codec.ts";
import { KeyFeed } from "./key-feed.ts";
import {
  encodingProblem,
  groupProblem,
  groupWarning,
  nickInputProblem,
  portProblem,
  ttlForGroupProblem,
} from "./wizard-validate.ts";

export interface WizardAnswers {
  group: string;
  port: number;
  /** A text-codec name (normalizeEncoding's form), e.g. "utf8", "gbk". */
  encoding: string;
  /** The room has classic (legacy) programs: also send our messages to them as plain text. */
  legacy: boolean;
  nick: string;
  /**
   * The chosen interface's name, or "all" (every multicast interface); undefined = the
   * system's choice. As a default: a name, an address or "all".
   */
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
  /** This host's interface addresses, both families (net/interfaces.ts listInterfaces). */
  interfaces: readonly WizardInterface[];
  /** --source given on the command line: a source-specific group may be entered. */
  source?: string;
  /** --raw given on the command line: the room port may be 65535 (no framed companion). */
  raw?: boolean;
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

/** An interface address as listInterfaces gives it; the family is read from the address if absent. */
export interface WizardInterface {
  name: string;
  address: string;
  family?: "IPv4" | "IPv6";
  internal?: boolean;
  up?: boolean;
  multicast?: boolean;
}

const OTHER = "\0other";
/** The running wizard's input (one wizard at a time: it owns the terminal). */
let currentFeed: KeyFeed | undefined;
const DEFAULT_IFACE = "";
const ALL_IFACES = "all";

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

/**
 * The prompt's answer, or CancelledError as soon as `signal` is aborted. The prompt listens
 * from its creation on: the keys typed ahead go to it now.
 */
function ask<T>(prompt: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  const input = currentFeed;
  if (input) input.pump();
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

const familyOf = (i: WizardInterface) => i.family ?? (i.address.includes(":") ? "IPv6" : "IPv4");

/** The interface prompt for a group: the interfaces with an address in its family. */
export function interfaceChoices(
  interfaces: readonly WizardInterface[],
  group: string,
  current: string | undefined,
) {
  const family = group.includes(":") ? "IPv6" : "IPv4";
  const mine = interfaces.filter((i) => familyOf(i) === family);
  const names = [...new Set(mine.map((i) => i.name))];
  const label = (name: string) => {
    const addrs = mine.filter((i) => i.name === name).map((i) => i.address);
    // IPv6: a global or ULA address first, link-local ones after.
    addrs.sort((a, b) => Number(/^fe[89ab]/i.test(a)) - Number(/^fe[89ab]/i.test(b)));
    return `${name} (${addrs.join(", ")})`;
  };
  const hint = (name: string) => {
    const i = mine.find((x) => x.name === name);
    if (i?.internal) return "loopback";
    if (i?.up === false) return "down";
    if (i?.multicast === false) return "no MULTICAST flag";
    return undefined;
  };
  const capable = names.filter((n) => {
    const i = mine.find((x) => x.name === n);
    return i && !i.internal && i.up !== false && i.multicast !== false;
  });
  const options: { value: string; label: string; hint?: string }[] = [
    { value: DEFAULT_IFACE, label: "system default", hint: "let the routing table choose" },
  ];
  if (capable.length > 1) {
    // clack shows a hint only on the highlighted option: what matters is in the label.
    options.push({
      value: ALL_IFACES,
      label: `all: ${capable.join(", ")} (sending on ${[...capable].sort()[0]})`,
    });
  }
  for (const n of names) {
    const h = hint(n);
    options.push({ value: n, label: h ? `${label(n)} - ${h}` : label(n) });
  }
  const want = (current ?? "").trim();
  const hit =
    want.toLowerCase() === ALL_IFACES && capable.length > 1
      ? ALL_IFACES
      : (mine.find((i) => i.name === want || i.address === want)?.name ?? DEFAULT_IFACE);
  return { options, initialValue: hit, any: names.length > 0 };
}

export async function runWizard(opts: WizardOptions): Promise<WizardAnswers> {
  const feed = new KeyFeed(opts.input ?? process.stdin);
  currentFeed = feed;
  let ok = false;
  try {
    const answers = await wizard({ ...opts, input: feed });
    ok = true;
    return answers;
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
  } finally {
    currentFeed = undefined;
    feed.close(ok && opts.resumeInput !== false);
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
        // Placeholders: typing replaces the default, Enter (nothing typed) accepts it.
        placeholder: d.group,
        defaultValue: d.group,
        validate: (v) => groupProblem(v || d.group, opts.source),
      }),
      signal,
    ),
    io,
  );
  const reserved = groupWarning(group);
  if (reserved) log.warn(reserved, io);
  const port = answered(
    await ask(
      text({
        ...io,
        message: "UDP port",
        placeholder: String(d.port),
        defaultValue: String(d.port),
        validate: (v) => portProblem(v || String(d.port), opts.raw === true),
      }),
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
          placeholder: listed ? undefined : d.encoding,
          defaultValue: listed ? undefined : d.encoding,
          validate: (v) => encodingProblem(v || (listed ? "" : d.encoding)),
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
        message: `Nickname (up to ${MAX_NICK_BYTES} Latin letters or ${Math.floor(MAX_NICK_BYTES / 3)} CJK characters)`,
        placeholder: d.nick,
        defaultValue: d.nick,
        validate: (v) => nickInputProblem(v || d.nick),
      }),
      signal,
    ),
    io,
  );

  const ifaces = interfaceChoices(opts.interfaces, group.trim(), d.interface);
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

  const ttlDefault = isInterfaceLocalGroup(group.trim()) ? "0" : String(d.ttl);
  const ttl = answered(
    await ask(
      text({
        ...io,
        message: "TTL (1 = this subnet only, 0 = this host only)",
        // An ff01:: group stays on this host whatever the TTL: only 0 says so.
        placeholder: ttlDefault,
        defaultValue: ttlDefault,
        validate: (v) => ttlForGroupProblem(v || ttlDefault, group),
      }),
      signal,
    ),
    io,
  );

  const hostOnly = Number(ttl.trim()) === 0;
  if (hostOnly && iface !== DEFAULT_IFACE) {
    log.info(
      "TTL 0: the room stays on this host (the loopback; ff01:: groups loop back on their own), so the interface choice is not used.",
      io,
    );
  }
  outro("Setup done.", io);
  const answers: WizardAnswers = {
    // Canonical (IPv6 lowercase and compressed), as options.ts makes it: the saved text is the room's.
    group: validateGroup(group),
    port: Number(port.trim()),
    encoding: normalizeEncoding(encoding) ?? encoding,
    legacy,
    nick,
    ttl: Number(ttl.trim()),
  };
  if (iface !== DEFAULT_IFACE && !hostOnly) answers.interface = iface;
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
