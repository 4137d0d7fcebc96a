import type { Io } from "../cli.ts";
import type { RawOptions } from "../config/options.ts";
import { UserError } from "../errors.ts";

/** `mcchat doctor`: check this host's multicast set-up for the room. (Being written: issue 10.) */
export async function runDoctor(
  _flags: RawOptions,
  _io: Io,
  _signal: AbortSignal,
): Promise<number> {
  throw new UserError("doctor is not implemented yet", 1);
}
