/**
 * The saved wizard choices: the only file-system access under src/config.
 * Values are type-checked here; ranges are checked by options.ts like any option.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, parse } from "node:path";
import { UserError } from "../errors.ts";

export interface SavedConfig {
  group?: string;
  port?: number;
  encoding?: string;
  /** The room has classic (legacy) programs (the --legacy flag). */
  legacy?: boolean;
  nick?: string;
  /** Interface name or address, as options.ts's resolveInterface accepts. */
  interface?: string;
  ttl?: number;
  /**
   * A private room's passphrase, only when the user asked setup to save it (the file
   * is 0600). MCCHAT_PASSPHRASE and --passphrase-file beat it.
   */
  passphrase?: string;
}

const KEYS = {
  group: "string",
  port: "number",
  encoding: "string",
  legacy: "boolean",
  nick: "string",
  interface: "string",
  ttl: "number",
  passphrase: "string",
} as const satisfies Record<keyof SavedConfig, "string" | "number" | "boolean">;

/** $XDG_CONFIG_HOME/mcchat/config.json, else ~/.config/mcchat/config.json. */
export function configPath(
  env: Record<string, string | undefined> = process.env,
  home: () => string = homedir,
): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || home(), ".config");
  return join(base, "mcchat", "config.json");
}

const reason = (err: unknown): string =>
  err instanceof Error ? err.message.split("\n")[0] || String(err) : String(err);

/** Known keys of a parsed JSON value, type-checked; unknown keys are ignored. */
export function parseConfig(data: unknown, path: string): SavedConfig {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UserError(`invalid config file ${path}: expected a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(KEYS)) {
    const value = (data as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== type || (type === "number" && !Number.isFinite(value))) {
      throw new UserError(`invalid config file ${path}: "${key}" must be a ${type}`);
    }
    out[key] = value;
  }
  return out as SavedConfig;
}

/** The saved config; a missing file is an empty config. */
export async function loadConfig(path: string): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new UserError(`cannot read config file ${path}: ${reason(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(`invalid config file ${path}: ${reason(err)}`);
  }
  return parseConfig(data, path);
}

/**
 * Writes the known, defined keys atomically (temp file in the same directory, then
 * rename), readable by the owner only: the file 0600, its directory 0700 (made so when it
 * is ours: a directory others may write would let them replace the saved passphrase).
 */
export async function saveConfig(path: string, cfg: SavedConfig): Promise<void> {
  const clean = parseConfig(cfg, path);
  const dir = dirname(path);
  const tmp = join(dir, `.config.json.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const uid = process.geteuid?.();
    if (uid === undefined || (await stat(dir)).uid === uid) await chmod(dir, 0o700);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.chmod(0o600); // whatever the umask
      await fh.writeFile(`${JSON.stringify(clean, null, 2)}\n`, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new UserError(`cannot save config file ${path}: ${reason(err)}`);
  }
}

/** Mode bits: group or others may write; the sticky bit (only an entry's owner may replace it). */
const OTHERS_WRITE = 0o022;
const OTHERS_READ = 0o044;
const STICKY = 0o1000;

/** Who besides us could read or replace the config file (what it holds is not looked at). */
export interface ConfigExposure {
  /** Others may read the file: its mode, e.g. "mode 0644". */
  readable?: string;
  /** Others may replace the file: why, and the command that fixes it. */
  replaceable?: { why: string; fix: string };
}

export interface ExposureDeps {
  /** Our effective uid (undefined: no owner checks, e.g. on Windows). */
  uid?: number;
  stat?: (path: string) => Promise<{ mode: number; uid: number }>;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

/**
 * Checks the config file and every directory above it, as OpenSSH checks its key files:
 * another user can replace the file when it or a directory on its path is theirs (root
 * aside), or is writable by group or others without the sticky bit. A missing file is {}.
 */
export async function configExposure(
  path: string,
  deps: ExposureDeps = {},
): Promise<ConfigExposure> {
  const uid = "uid" in deps ? deps.uid : process.geteuid?.();
  const statOf = deps.stat ?? ((p: string) => stat(p));
  const foreign = (owner: number) => uid !== undefined && owner !== uid && owner !== 0;
  let file: { mode: number; uid: number };
  try {
    file = await statOf(path);
  } catch {
    return {};
  }
  const out: ConfigExposure = {};
  if ((file.mode & OTHERS_READ) !== 0) out.readable = `mode ${octal(file.mode)}`;
  if (foreign(file.uid)) {
    out.replaceable = {
      why: `it belongs to another user (uid ${file.uid})`,
      fix: `remove it and run mcchat setup`,
    };
    return out;
  }
  if ((file.mode & OTHERS_WRITE) !== 0) {
    out.replaceable = {
      why: `other users can write it (mode ${octal(file.mode)})`,
      fix: `chmod 600 ${path}`,
    };
    return out;
  }
  const root = parse(path).root;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    let st: { mode: number; uid: number };
    try {
      st = await statOf(dir);
    } catch {
      break;
    }
    if (foreign(st.uid)) {
      out.replaceable = {
        why: `its directory ${dir} belongs to another user (uid ${st.uid})`,
        fix: `keep the config in a directory of yours (XDG_CONFIG_HOME) and run mcchat setup`,
      };
      break;
    }
    if ((st.mode & OTHERS_WRITE) !== 0 && (st.mode & STICKY) === 0) {
      out.replaceable = {
        why: `other users can write its directory ${dir} (mode ${octal(st.mode)})`,
        fix: `chmod go-w ${dir}`,
      };
      break;
    }
    if (dir === root || dirname(dir) === dir) break;
  }
  return out;
}
