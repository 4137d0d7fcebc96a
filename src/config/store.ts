/**
 * The saved wizard choices: the only file-system access under src/config.
 * Values are type-checked here; ranges are checked by options.ts like any option.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
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
 * rename), readable by the owner only: directory 0700 when created, file 0600.
 */
export async function saveConfig(path: string, cfg: SavedConfig): Promise<void> {
  const clean = parseConfig(cfg, path);
  const dir = dirname(path);
  const tmp = join(dir, `.config.json.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(clean, null, 2)}\n`, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await chmod(path, 0o600);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new UserError(`cannot save config file ${path}: ${reason(err)}`);
  }
}
