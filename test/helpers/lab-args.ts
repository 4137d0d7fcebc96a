/**
 * The command line of the lab's forging helpers (hostile.ts, history_forger.ts):
 * `GROUP ROOM_PORT [more positional…] [--name value…]`. GROUP must be in 239.0.0.0/8; frames go
 * to the companion port ROOM_PORT + 1 (PROTOCOL.md §1.1). Bad arguments end the script by `die`.
 */
import type { Die } from "./lab-only.ts";

export interface LabArgs {
  group: string;
  /** ROOM_PORT + 1, where frames live. */
  port: number;
  /** The positional arguments after GROUP and ROOM_PORT. */
  rest: string[];
  /** `--name value` pairs, by name (without the dashes). */
  opts: Record<string, string>;
}

export function labArgs(die: Die, args: readonly string[] = process.argv.slice(2)): LabArgs {
  const positional: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith("--")) {
      const v = args[i + 1];
      if (v === undefined) die(`${a} needs a value`);
      opts[a.slice(2)] = v;
      i++;
    } else positional.push(a);
  }
  const [group, portText, ...rest] = positional;
  if (!group || !/^239\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(group))
    die("GROUP must be in 239.0.0.0/8");
  const roomPort = Number(portText);
  if (!Number.isInteger(roomPort) || roomPort < 1 || roomPort > 65534) die("bad ROOM_PORT");
  return { group, port: roomPort + 1, rest, opts };
}
