// The one small SQLite helper under both readers of Nix's database (database.ts serves
// requests, store-index.ts answers questions about the whole store): opened read-only, the
// statements prepared once at open, one explanation of why an open failed and what to run, and
// query errors wrapped with what was being looked up.

import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { StorefrontError } from "../../errors.ts";

/** How long a query waits for a writer's lock (a checkpoint, say) before giving up. */
const BUSY_TIMEOUT_MS = 10_000;

// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_READONLY = 8;
const SQLITE_CANTOPEN = 14;

/**
 * The command, run as root, after which a user without write access to the database's directory
 * can read it: Nix's database is in WAL mode, and SQLite opens such a database read-only only
 * while its -wal and -shm files exist. Nix deletes them when its last connection closes; this
 * opens the database once and keeps them (persist_wal). The NixOS module and the README's unit
 * run it before each start.
 */
function walSetupCommand(path: string): string {
  return `sqlite3 ${path} '.output /dev/null' '.filectrl persist_wal 1' 'SELECT 1 FROM ValidPaths LIMIT 1'`;
}

/**
 * Opens Nix's database at `path` read-only (never immutable: Nix keeps writing) and prepares
 * its statements with `prepare`; throws a StorefrontError naming the file when either fails.
 */
export function openNixDatabase<T>(
  path: string,
  prepare: (database: DatabaseSync) => T,
): { readonly database: DatabaseSync; readonly statements: T } {
  const database = openReadOnly(path);
  try {
    return { database, statements: prepare(database) };
  } catch (error) {
    database.close();
    throw databaseOpenError(path, error);
  }
}

/**
 * Runs `run` (a query); a failure becomes an internal error saying `what` was looked up, e.g.
 * "for <hash>" or "(totals)".
 */
export function query<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new StorefrontError("internal", `database query ${what} failed: ${String(error)}`, {
      cause: error,
    });
  }
}

function openReadOnly(path: string): DatabaseSync {
  if (!existsSync(path)) {
    throw new StorefrontError(
      "internal",
      `Nix database not found at ${path}: install Nix (on Debian, as root: .ci/install-deps in storefront's checkout), or name the store with real_nix_store (or the database with nix_db_path)`,
    );
  }
  try {
    return new DatabaseSync(path, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw databaseOpenError(path, error);
  }
}

/**
 * The error for a database that could not be opened or first read (SQLite reads the schema on
 * the first statement): why, for the cases an operator meets, and what to run.
 */
function databaseOpenError(path: string, error: unknown): StorefrontError {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  const primary = typeof errcode === "number" ? errcode & 0xff : undefined;
  const user = currentUser();
  let detail = `cannot open Nix database ${path}: ${String(error)}`;
  if (primary === SQLITE_READONLY && !existsSync(`${path}-wal`)) {
    detail =
      `cannot open Nix database ${path} read-only as ${user}: it is in WAL mode, its -wal and -shm files are missing ` +
      `(Nix removes them when it closes the database) and ${user} cannot create them in ${dirname(path)}; ` +
      `run as root before each start: ${walSetupCommand(path)} (the README's systemd unit and the NixOS module do)`;
  } else if (primary === SQLITE_READONLY || primary === SQLITE_CANTOPEN) {
    detail =
      `cannot open Nix database ${path} read-only as ${user} (${String(error)}): ` +
      `${user} needs read access to it and to its -wal and -shm files, and to every directory above it`;
  }
  return new StorefrontError("internal", detail, { cause: error });
}

function currentUser(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${String(process.getuid?.())}`;
  }
}
