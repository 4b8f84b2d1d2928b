// Files the config names (the config itself, secret keys, admin tokens, TLS), read at start
// with errors that name the file, so that an operator knows which one to fix.

import { readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";

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

/** What group and others may do with a file of mode `mode`, or undefined when nothing. */
function exposure(mode: number): string | undefined {
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
