/**
 * What doctor reads about the host, behind one injectable object: the checks
 * (checks.ts) are pure over it, and the tests hand them fixture texts.
 */
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import type { NetInterface } from "../config/options.ts";
import type { Endianness } from "./proc.ts";

export interface DoctorPlatform {
  /** process.platform: the /proc and /sys checks need "linux". */
  name: NodeJS.Platform;
  /** A file's text, or undefined when it cannot be read (absent, permission). */
  readFile(path: string): string | undefined;
  /** A directory's entries, or undefined when it cannot be read. */
  listDir?(path: string): string[] | undefined;
  /** This host's interface addresses (os.networkInterfaces(), flattened). */
  interfaces: readonly NetInterface[];
  /** Byte order the kernel prints __be32 addresses in (os.endianness()). */
  endianness: Endianness;
}

/** The real host. */
export function hostPlatform(interfaces: readonly NetInterface[]): DoctorPlatform {
  return {
    name: process.platform,
    readFile(path) {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
    },
    listDir(path) {
      try {
        return readdirSync(path);
      } catch {
        return undefined;
      }
    },
    interfaces,
    endianness: os.endianness(),
  };
}
