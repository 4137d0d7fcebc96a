/**
 * Colour decisions (pure: the environment is passed in).
 *
 * Precedence, as Node's own tty.getColorDepth: FORCE_COLOR when set ("0" or
 * "false" → off, anything else, even empty → on), then NO_COLOR (set and non-empty
 * → off), then colour only on a TTY whose TERM is not "dumb".
 */
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;
export type Paint = (text: string) => string;

export interface ColorEnv {
  env: Record<string, string | undefined>;
  /** Whether the stream written to is a terminal. */
  isTTY: boolean;
}

export function colorEnabled({ env, isTTY }: ColorEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return isTTY && env.TERM !== "dumb";
}

export function makeColors(opts: ColorEnv): Colors {
  return pc.createColors(colorEnabled(opts));
}

/** Readable on dark and light backgrounds; red is left for errors. */
const PALETTE = [
  "cyan",
  "green",
  "yellow",
  "magenta",
  "blue",
  "cyanBright",
  "greenBright",
  "yellowBright",
  "magentaBright",
  "blueBright",
] as const satisfies readonly (keyof Colors)[];

/** FNV-1a over UTF-16 units: stable across runs and machines. */
export function nickHash(nick: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < nick.length; i++) {
    h ^= nick.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The colour of a nick: the same nick always gets the same colour. */
export function nickColor(nick: string, colors: Colors): Paint {
  const name = PALETTE[nickHash(nick) % PALETTE.length] ?? "cyan";
  return colors[name];
}
