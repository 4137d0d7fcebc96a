/**
 * Where a private room's passphrase comes from. Never the command line (other users
 * see it in `ps`, shells keep it in their history). Precedence, most explicit first:
 * `--passphrase-file FILE` > `MCCHAT_PASSPHRASE` > the wizard's answer > the one saved
 * in the config file. An empty MCCHAT_PASSPHRASE counts as unset.
 */
import { readFile, stat } from "node:fs/promises";
import { fileErrorText, UserError } from "../errors.ts";
import type { ConfigExposure } from "./store.ts";

export const PASSPHRASE_ENV = "MCCHAT_PASSPHRASE";

export type PassphraseSource = "--passphrase-file" | typeof PASSPHRASE_ENV | "wizard" | "config";

export interface Passphrase {
  value: string;
  source: PassphraseSource;
}

/** The source as a sentence fragment: "from MCCHAT_PASSPHRASE", "from the config file"… */
export function describeSource(source: PassphraseSource): string {
  switch (source) {
    case "--passphrase-file":
      return "from --passphrase-file";
    case PASSPHRASE_ENV:
      return `from ${PASSPHRASE_ENV}`;
    case "wizard":
      return "from setup";
    case "config":
      return "from the config file";
  }
}

export const NOT_ON_COMMAND_LINE = `never put the passphrase on the command line: use ${PASSPHRASE_ENV} or --passphrase-file`;

/**
 * Throws a UserError if argv (the arguments after the program) tries to give the
 * passphrase itself: `--passphrase X` or `--passphrase=X`. Checked before parsing, so
 * the refusal is the same whatever else is wrong with the line.
 */
export function refusePassphraseArgument(args: readonly string[]): void {
  for (const a of args) {
    if (a === "--") return;
    if (a === "--passphrase" || a.startsWith("--passphrase=")) {
      throw new UserError(NOT_ON_COMMAND_LINE);
    }
  }
}

/** Strips one trailing line break ("\n" or "\r\n"): what `echo secret > file` adds. */
export function stripOneNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** True if a file mode lets the group or others read the file. */
export function othersMayRead(mode: number): boolean {
  return (mode & 0o044) !== 0;
}

/**
 * The passphrase in `path` (one trailing newline stripped) and a warning if others
 * may read the file. A missing, unreadable or empty file is a UserError.
 */
export async function readPassphraseFile(
  path: string,
): Promise<{ passphrase: string; warning?: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UserError(`cannot read passphrase file ${path}: ${fileErrorText(err)}`);
  }
  const passphrase = stripOneNewline(text);
  if (passphrase.length === 0) throw new UserError(`passphrase file ${path} is empty`);
  let warning: string | undefined;
  try {
    const st = await stat(path);
    if (othersMayRead(st.mode)) {
      warning = `passphrase file ${path} is readable by other users (chmod 600 ${path})`;
    }
  } catch {
    // Read a moment ago: a failing stat changes nothing about the passphrase.
  }
  return warning === undefined ? { passphrase } : { passphrase, warning };
}

/**
 * The passphrase given for this run explicitly: `--passphrase-file` beats
 * MCCHAT_PASSPHRASE. Undefined when neither is given (the wizard or the config may
 * still have one). `warn` gets one-line warnings (a file others may read).
 */
export async function explicitPassphrase(
  file: unknown,
  env: Record<string, string | undefined>,
  warn: (text: string) => void,
): Promise<Passphrase | undefined> {
  if (file !== undefined && file !== false) {
    if (file === true || String(file) === "") {
      throw new UserError("--passphrase-file needs a file name");
    }
    const { passphrase, warning } = await readPassphraseFile(String(file));
    if (warning) warn(warning);
    return { value: passphrase, source: "--passphrase-file" };
  }
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: PASSPHRASE_ENV };
  return undefined;
}

/**
 * The passphrase for this run: an explicit one (file, environment), else the wizard's
 * answer when the wizard asked (an empty answer = an open room, even with one saved),
 * else the saved one.
 */
export function choosePassphrase(p: {
  explicit?: Passphrase;
  wizard?: { asked: boolean; answer?: string };
  saved?: string;
}): Passphrase | undefined {
  if (p.explicit) return p.explicit;
  if (p.wizard?.asked) {
    return p.wizard.answer ? { value: p.wizard.answer, source: "wizard" } : undefined;
  }
  if (p.saved !== undefined && p.saved !== "") return { value: p.saved, source: "config" };
  return undefined;
}

/**
 * A warning when other users may read the config file that holds the saved passphrase
 * (like `--passphrase-file`), else undefined.
 */
export function savedPassphraseWarning(path: string, e: ConfigExposure): string | undefined {
  if (e.readable === undefined) return undefined;
  return `config file ${path} holds the room passphrase and other users can read it (${e.readable}): chmod 600 ${path}`;
}

/**
 * The refusal (exit 1) to use a saved passphrase that another user could have put there
 * (whoever can replace the file chooses the room and reads it), else undefined.
 */
export function savedPassphraseRefusal(path: string, e: ConfigExposure): UserError | undefined {
  if (e.replaceable === undefined) return undefined;
  return new UserError(
    `refusing the passphrase saved in ${path}: ${e.replaceable.why}, so another user could replace it (fix: ${e.replaceable.fix}; or give it with ${PASSPHRASE_ENV} or --passphrase-file)`,
    1,
  );
}

/** The wizard's warning when it does not offer (nor keep) a saved passphrase others could replace. */
export function savedPassphraseNotOffered(path: string, e: ConfigExposure): string | undefined {
  if (e.replaceable === undefined) return undefined;
  return `the passphrase saved in ${path} is ignored: ${e.replaceable.why}, so another user could replace it`;
}
