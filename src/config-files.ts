// Files the config names (the config itself, secret keys, admin tokens, TLS), read at start
// with errors that name the file, so that an operator knows which one to fix.

import { readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { ConfigError } from "./config-schema.ts";
import type { Logger } from "./log.ts";

/** The user this process runs as, for "permission denied" messages. */
function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${String(process.getuid?.() ?? "?")}`;
  }
}

/**
 * Why a file operation failed, in words rather than an errno code (`ENOENT`), with what to do
 * about it where that is clear.
 */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "there is no such file or directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "EISDIR":
      return "it is a directory, not a file";
    case "EACCES":
    case "EPERM":
      return `permission denied to user ${currentUser()}; run as a user with access to it, or change its owner or mode (chown, chmod)`;
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "the disk is full";
    case "EEXIST":
      return "it exists already";
    default:
      return typeof code === "string"
        ? code
        : error instanceof Error
          ? error.message
          : String(error);
  }
}

/** Reads `path`; a failure says which `what` ("config file", "TLS key") could not be read. */
export function readConfiguredFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the ${what}: ${fileErrorReason(error)}`);
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
