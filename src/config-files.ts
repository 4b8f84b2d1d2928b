// Files the config names (the config itself, secret keys, admin tokens, TLS), read at start
// with errors that name the file, so that an operator knows which one to fix.

import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./config-schema.ts";
import type { Logger } from "./log.ts";

/** Reads `path`; a failure says which `what` ("config file", "TLS key") could not be read. */
export function readConfiguredFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new ConfigError(`${path}: cannot read the ${what} (${code})`);
  }
}

/** What group and others may do with a file of mode `mode`, or undefined when nothing. */
export function exposure(mode: number): string | undefined {
  const readable = (mode & 0o044) !== 0;
  const writable = (mode & 0o022) !== 0;
  if (readable && writable) return "readable and writable by group or others";
  if (readable) return "readable by group or others";
  if (writable) return "writable by group or others";
  // Execute bits alone expose nothing, but are still not what a key file should have.
  if ((mode & 0o011) !== 0) return "executable by group or others";
  return undefined;
}

/**
 * Reads a file holding a secret as text. With `log`, warns when group or others may read or
 * write it; without, says nothing: a cluster worker reads the files after its primary has warned.
 */
export function readSecretFile(path: string, what: string, log: Logger | undefined): string {
  const text = readConfiguredFile(path, what).toString("utf8");
  const exposed = log === undefined ? undefined : exposure(statSync(path).mode);
  if (exposed !== undefined) log?.warn(`${what} is ${exposed}; chmod 600 it`, { file: path });
  return text;
}
