/**
 * The `--version` line: `mcchat <package.json version>`, and for release builds the
 * commit and target they were built from, e.g. `mcchat 0.2.0 (3945967 linux-arm64)`.
 * scripts/release.ts passes that text with `--define MCCHAT_BUILD='"…"'`; from source and
 * from `npm run build` the identifier is not defined and the line is the version alone.
 */
import pkg from "../package.json" with { type: "json" };

declare const MCCHAT_BUILD: string | undefined;

/** What the build was made from (commit, target), or undefined when not a release build. */
export const BUILD: string | undefined =
  typeof MCCHAT_BUILD === "string" && MCCHAT_BUILD !== "" ? MCCHAT_BUILD : undefined;

export const VERSION_LINE = `mcchat ${pkg.version}${BUILD ? ` (${BUILD})` : ""}`;
