// Finding a file inside the store by names from a URL, following symlinks one step at a time
// and only while they stay inside the store. Store paths hold absolute symlinks into the store
// as clients see it (/nix/store/...), so a target in the logical store dir is mapped to the
// real one; any other absolute target, or `..` above the store dir, is outside and a miss. A
// path reached through a symlink must itself be a valid store path, not a half-built one.

import { lstat, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { isStoreBaseName } from "../../core/nix/store-path.ts";
import type { DirectoryEntry } from "../../core/pages/directory-page.ts";
import { isMissingFileError } from "../../errors.ts";
import type { StoreDirs } from "../nar/valid-path.ts";

/** As Linux's MAXSYMLINKS: a loop ends here. */
const MAX_SYMLINK_HOPS = 40;
const SLASH = 0x2f;
const DOT = Buffer.from(".");
const DOT_DOT = Buffer.from("..");

export interface StoreFile {
  /** The real path, every symlink resolved. */
  readonly realPath: Buffer;
  /** Its last name: what its content type is judged by. */
  readonly name: Buffer;
  /** From lstat; never a symlink. */
  readonly stats: Stats;
}

/**
 * The file that `names` lead to from the store dir, or undefined when they lead nowhere or out
 * of the store. `isValidPath` says whether a `<hash>-<name>` may be entered.
 */
export async function resolveInStore(
  dirs: StoreDirs,
  names: readonly Buffer[],
  isValidPath: (baseName: string) => boolean,
): Promise<StoreFile | undefined> {
  const prefixes = [dirs.virtual, dirs.real].map((dir) => Buffer.from(dir + "/"));
  const pending = [...names].reverse();
  let current: Buffer[] = [];
  let stats: Stats | undefined;
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.pop() ?? DOT;
    if (name.length === 0 || name.equals(DOT)) continue;
    if (name.equals(DOT_DOT)) {
      if (current.pop() === undefined) return undefined;
      stats = undefined;
      continue;
    }
    if (current.length === 0) {
      const baseName = name.toString("latin1");
      if (!isStoreBaseName(baseName) || !isValidPath(baseName)) return undefined;
    } else if (stats !== undefined && !stats.isDirectory()) {
      return undefined;
    }
    current.push(name);
    const path = realPathOf(dirs, current);
    try {
      stats = await lstat(path);
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw error;
    }
    if (!stats.isSymbolicLink()) continue;
    if (++hops > MAX_SYMLINK_HOPS) return undefined;
    const target = await readlink(path, { encoding: "buffer" });
    current.pop();
    let relative = target;
    if (target[0] === SLASH) {
      const prefix = prefixes.find((candidate) =>
        target.subarray(0, candidate.length).equals(candidate),
      );
      if (prefix === undefined) return undefined;
      relative = target.subarray(prefix.length);
      current = [];
    }
    pending.push(...splitNames(relative).reverse());
    stats = undefined;
  }
  const name = current[current.length - 1];
  if (name === undefined) return undefined;
  const realPath = realPathOf(dirs, current);
  return { realPath, name, stats: stats ?? (await lstat(realPath)) };
}

/** The entries of a directory, with sizes for files. */
export async function readDirectory(path: Buffer): Promise<DirectoryEntry[]> {
  const entries: DirectoryEntry[] = [];
  for (const entry of await readdir(path, { encoding: "buffer", withFileTypes: true })) {
    if (entry.isDirectory()) {
      entries.push({ name: entry.name, kind: "directory" });
    } else if (entry.isSymbolicLink()) {
      entries.push({ name: entry.name, kind: "symlink" });
    } else {
      const stats = await lstat(Buffer.concat([path, Buffer.from("/"), entry.name]));
      entries.push({ name: entry.name, kind: "file", size: stats.size });
    }
  }
  return entries;
}

function realPathOf(dirs: StoreDirs, names: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(dirs.real)];
  for (const name of names) parts.push(Buffer.from("/"), name);
  return Buffer.concat(parts);
}

function splitNames(path: Buffer): Buffer[] {
  const names: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      names.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return names;
}
