/**
 * The process's standard streams and environment, as the commands use them (tests pass
 * fakes). Its own module, below everything: cli.ts, join.ts, doctor and replay all take
 * one, and none of them needs the others for it.
 */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}
