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

/**
 * Reads a file holding a secret as text. With `log`, warns when group or others may read it;
 * without, says nothing: a cluster worker reads the files after its primary has warned.
 */
export function readSecretFile(path: string, what: string, log: Logger | undefined): string {
  const text = readConfiguredFile(path, what).toString("utf8");
  if (log !== undefined && (statSync(path).mode & 0o077) !== 0) {
    log.warn(`${what} is readable by group or others; chmod 600 it`, { file: path });
  }
  return text;
}
