import type { CAC } from "cac";
import { UserError } from "../errors.ts";

/** `mcchat completion SHELL`: a completion script for bash, zsh or fish. (Being written: issue 10.) */
export function completionScript(_shell: string, _cli: CAC): string {
  throw new UserError("completion is not implemented yet", 1);
}
