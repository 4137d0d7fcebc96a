import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NetInterface, validateOptions } from "../../src/config/options.ts";
import {
  choosePassphrase,
  explicitPassphrase,
  NOT_ON_COMMAND_LINE,
  othersMayRead,
  type Passphrase,
  readPassphraseFile,
  refusePassphraseArgument,
  savedPassphraseNotOffered,
  savedPassphraseRefusal,
  savedPassphraseWarning,
  stripOneNewline,
} from "../../src/config/passphrase.ts";
import { loadConfig, saveConfig } from "../../src/config/store.ts";
import { UserError } from "../../src/errors.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcchat-pass-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

/** The UserError `fn` throws (sync or async): exit 2 unless said otherwise, one line. */
async function userError(fn: () => unknown, exitCode = 2): Promise<UserError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const u = err as UserError;
  expect(u.exitCode).toBe(exitCode);
  expect(u.message).not.toContain("\n");
  return u;
}

async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  await chmod(p, mode);
  return p;
}

describe("never on the command line", () => {
  test("--passphrase X and --passphrase=X are refused", async () => {
    for (const args of [
      ["--passphrase", "s3cret"],
      ["--passphrase=s3cret"],
      ["-y", "--passphrase"],
    ]) {
      const err = await userError(() => refusePassphraseArgument(args));
      expect(err.message).toBe(NOT_ON_COMMAND_LINE);
      expect(err.message).not.toContain("s3cret");
    }
  });
  test("--passphrase-file, --allow-plaintext, and anything after -- are fine", () => {
    expect(() =>
      refusePassphraseArgument(["--passphrase-file", "f", "--allow-plaintext"]),
    ).not.toThrow();
    expect(() => refusePassphraseArgument(["--passphrase-file=f"])).not.toThrow();
    expect(() => refusePassphraseArgument(["--", "--passphrase"])).not.toThrow();
  });
});

describe("--passphrase-file", () => {
  test("one trailing newline is stripped, no more", async () => {
    expect(stripOneNewline("a\n")).toBe("a");
    expect(stripOneNewline("a\r\n")).toBe("a");
    expect(stripOneNewline("a\n\n")).toBe("a\n");
    expect(stripOneNewline(" a ")).toBe(" a ");
    expect(await readPassphraseFile(await file("p", "correct horse\n"))).toEqual({
      passphrase: "correct horse",
    });
  });
  test("missing, empty or newline-only file → one-line usage error naming the file", async () => {
    const missing = join(dir, "nope");
    expect((await userError(() => readPassphraseFile(missing))).message).toBe(
      `cannot read passphrase file ${missing}: no such file (ENOENT)`,
    );
    const empty = await file("empty", "");
    expect((await userError(() => readPassphraseFile(empty))).message).toContain("is empty");
    const newlineOnly = await file("nl", "\n");
    await userError(() => readPassphraseFile(newlineOnly));
    await userError(() => readPassphraseFile(dir)); // a directory
  });
  test.skipIf(isRoot)("an unreadable file → usage error", async () => {
    const p = await file("locked", "x", 0o000);
    expect((await userError(() => readPassphraseFile(p))).message).toContain("permission denied");
  });
  test("warns when the group or others may read it", async () => {
    expect(othersMayRead(0o100600)).toBe(false);
    expect(othersMayRead(0o100640)).toBe(true);
    expect(othersMayRead(0o100604)).toBe(true);
    expect((await readPassphraseFile(await file("a", "x", 0o600))).warning).toBeUndefined();
    const open = await file("b", "x", 0o644);
    expect((await readPassphraseFile(open)).warning).toBe(
      `passphrase file ${open} is readable by other users (chmod 600 ${open})`,
    );
  });
});

describe("precedence: --passphrase-file > MCCHAT_PASSPHRASE > wizard > saved config", () => {
  const none = () => {};
  test("the file beats the environment, whose empty value counts as unset", async () => {
    const p = await file("p", "from-file\n");
    const env = { MCCHAT_PASSPHRASE: "from-env" };
    expect(await explicitPassphrase(p, env, none)).toEqual({
      value: "from-file",
      source: "--passphrase-file",
    });
    expect(await explicitPassphrase(undefined, env, none)).toEqual({
      value: "from-env",
      source: "MCCHAT_PASSPHRASE",
    });
    expect(await explicitPassphrase(undefined, { MCCHAT_PASSPHRASE: "" }, none)).toBeUndefined();
    expect(await explicitPassphrase(undefined, {}, none)).toBeUndefined();
  });
  test("a file warning goes to warn(); --passphrase-file without a name is an error", async () => {
    const warnings: string[] = [];
    await explicitPassphrase(await file("w", "x", 0o644), {}, (t) => warnings.push(t));
    expect(warnings).toHaveLength(1);
    await userError(() => explicitPassphrase(true, {}, none));
    await userError(() => explicitPassphrase("", {}, none));
  });
  test("explicit beats the wizard, which beats the saved one (an empty answer = open room)", () => {
    const explicit: Passphrase = { value: "e", source: "MCCHAT_PASSPHRASE" };
    const wizard = { asked: true, answer: "w" };
    expect(choosePassphrase({ explicit, wizard, saved: "s" })).toBe(explicit);
    expect(choosePassphrase({ wizard, saved: "s" })).toEqual({ value: "w", source: "wizard" });
    expect(choosePassphrase({ wizard: { asked: true }, saved: "s" })).toBeUndefined();
    expect(choosePassphrase({ wizard: { asked: false }, saved: "s" })).toEqual({
      value: "s",
      source: "config",
    });
    expect(choosePassphrase({ saved: "s" })).toEqual({ value: "s", source: "config" });
    expect(choosePassphrase({ saved: "" })).toBeUndefined();
    expect(choosePassphrase({})).toBeUndefined();
  });
});

describe("validateOptions with a passphrase", () => {
  const IFS: NetInterface[] = [];
  const ctx = { interfaces: IFS, defaultNick: "alice" };
  const env: Passphrase = { value: "pw", source: "MCCHAT_PASSPHRASE" };

  test("an encrypted room; open without one", () => {
    expect(validateOptions({ roomPassphrase: env }, ctx).passphrase).toEqual(env);
    expect(validateOptions({}, ctx).passphrase).toBeUndefined();
  });
  test("--raw cannot be encrypted, naming where the passphrase came from", async () => {
    const err = await userError(() => validateOptions({ raw: true, roomPassphrase: env }, ctx));
    expect(err.message).toBe("--raw rooms cannot be encrypted (passphrase from MCCHAT_PASSPHRASE)");
    const saved = await userError(() =>
      validateOptions({ raw: true, roomPassphrase: { value: "x", source: "config" } }, ctx),
    );
    expect(saved.message).toContain("from the config file");
    expect(validateOptions({ raw: true }, ctx).raw).toBe(true);
  });
  test("an encrypted room never bridges to legacy programs", async () => {
    const err = await userError(() => validateOptions({ legacy: true, roomPassphrase: env }, ctx));
    expect(err.message).toContain("cannot bridge to legacy programs");
  });
  test("--allow-plaintext: only in an encrypted room, and takes no value", async () => {
    expect(validateOptions({ roomPassphrase: env, allowPlaintext: true }, ctx).allowPlaintext).toBe(
      true,
    );
    expect(validateOptions({ roomPassphrase: env }, ctx).allowPlaintext).toBe(false);
    const open = await userError(() => validateOptions({ allowPlaintext: true }, ctx));
    expect(open.message).toContain("encrypted rooms only");
    await userError(() => validateOptions({ roomPassphrase: env, allowPlaintext: "yes" }, ctx));
  });
});

describe("saved passphrase", () => {
  test("round-trips through the 0600 config file; a non-string is refused", async () => {
    const p = join(dir, "mcchat", "config.json");
    await saveConfig(p, { nick: "a", passphrase: "pässword" });
    expect(await loadConfig(p)).toEqual({ nick: "a", passphrase: "pässword" });
    await writeFile(p, JSON.stringify({ passphrase: 42 }));
    expect((await userError(() => loadConfig(p))).message).toContain(
      '"passphrase" must be a string',
    );
  });
});

describe("the saved passphrase's file (issue 15)", () => {
  const path = "/home/a/.config/mcchat/config.json";
  const replaceable = { why: "other users can write it (mode 0666)", fix: `chmod 600 ${path}` };

  test("readable by others: a warning that says how to fix it; private: none", () => {
    expect(savedPassphraseWarning(path, { readable: "mode 0644" })).toBe(
      `config file ${path} holds the room passphrase and other users can read it (mode 0644): chmod 600 ${path}`,
    );
    expect(savedPassphraseWarning(path, {})).toBeUndefined();
    expect(savedPassphraseRefusal(path, { readable: "mode 0644" })).toBeUndefined();
  });

  test("replaceable by others: refused, one line, exit 1, with the fix and the alternatives", async () => {
    const err = await userError(() => {
      throw savedPassphraseRefusal(path, { replaceable });
    }, 1);
    expect(err.message).toBe(
      `refusing the passphrase saved in ${path}: other users can write it (mode 0666), so another user could replace it (fix: chmod 600 ${path}; or give it with MCCHAT_PASSPHRASE or --passphrase-file)`,
    );
  });

  test("the wizard ignores a replaceable one (and says so)", () => {
    expect(savedPassphraseNotOffered(path, { replaceable })).toBe(
      `the passphrase saved in ${path} is ignored: other users can write it (mode 0666), so another user could replace it`,
    );
    expect(savedPassphraseNotOffered(path, { readable: "mode 0644" })).toBeUndefined();
  });
});
