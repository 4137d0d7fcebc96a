import type { Io } from "../cli.ts";
import type { RawOptions } from "../config/options.ts";
import { UserError } from "../errors.ts";

/** `mcchat replay FILE`: print a --log transcript as the room showed it. (Being written: issue 10.) */
export async function runReplay(_file: string, _flags: RawOptions, _io: Io): Promise<number> {
  throw new UserError("replay is not implemented yet", 1);
}
