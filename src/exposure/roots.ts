// From an entry of `[exposure] only_closures_of` to the store paths it roots, read from the file
// system as Nix reads its roots: a symlink (a GC root, or a profile whose links lead through
// its generations) is followed to the store; a directory is searched as Nix searches gcroots/;
// a store path is itself. Nothing is cached: each call reads the links as they are now.

import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isStoreBaseName } from "../core/nix/store-path.ts";
import { isMissingFileError } from "../errors.ts";

/** The entry that means every pin of storefront, auto-pins included. */
export const PINS_ENTRY = "pins";

export interface StoreDirs {
  /** The store directory in store paths, e.g. /nix/store. */
  readonly virtual: string;
  /** Where its files are, which differs for a chroot store: links may point into either. */
  readonly real: string;
}

export type Resolved =
  | {
      readonly kind: "roots";
      /** Logical store paths, e.g. /nix/store/<hash>-<name>; not checked for validity. */
      readonly storePaths: readonly string[];
      /** Directories whose changes may change `storePaths`: the links' own directories. */
      readonly watch: readonly string[];
    }
  | { readonly kind: "problem"; readonly problem: string };

/** Symlink hops before giving up, as the kernel's own limit. */
const MAX_HOPS = 40;

/**
 * What `entry` roots now. `pins` is resolved by the caller (it knows the pins); here an entry is
 * a path. `isValid` says whether a store path is registered, for a store path entry.
 */
export function resolveEntry(
  entry: string,
  dirs: StoreDirs,
  isValid: (storePath: string) => boolean,
): Resolved {
  if (!isAbsolute(entry)) return problem(`is not "${PINS_ENTRY}" or an absolute path`);
  const inStore = storePathIn(dirs, entry);
  if (inStore !== undefined) {
    if (inStore !== entry && inStore !== realToVirtual(dirs, entry)) {
      return problem("is inside a store path, not a store path");
    }
    return isValid(inStore)
      ? { kind: "roots", storePaths: [inStore], watch: [] }
      : problem("does not exist: no such valid store path");
  }
  let stats: Stats;
  try {
    stats = lstatSync(entry);
  } catch (error) {
    return problem(isMissingFileError(error) ? "does not exist" : `cannot be read: ${code(error)}`);
  }
  if (stats.isDirectory()) return searchDirectory(entry, dirs);
  if (stats.isSymbolicLink()) return followLinks(entry, dirs);
  return problem("is not a GC root, a profile, a directory of roots or a store path");
}

function problem(text: string): Resolved {
  return { kind: "problem", problem: text };
}

function code(error: unknown): string {
  return String((error as { code?: unknown } | null)?.code ?? error);
}

/** The store path (`<store>/<hash>-<name>`) that `path` is or is inside, if any. */
function storePathIn(dirs: StoreDirs, path: string): string | undefined {
  for (const storeDir of [dirs.virtual, dirs.real]) {
    if (!path.startsWith(storeDir + "/")) continue;
    const baseName = path.slice(storeDir.length + 1).split("/")[0] ?? "";
    if (isStoreBaseName(baseName)) return `${dirs.virtual}/${baseName}`;
  }
  return undefined;
}

function realToVirtual(dirs: StoreDirs, path: string): string {
  return path.startsWith(dirs.real + "/") ? dirs.virtual + path.slice(dirs.real.length) : path;
}

/** A profile or GC root: links followed until one points into the store. */
function followLinks(entry: string, dirs: StoreDirs): Resolved {
  const watch = new Set<string>();
  let current = entry;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    let target: string;
    try {
      target = resolve(dirname(current), readlinkSync(current));
    } catch (error) {
      if (isMissingFileError(error)) return problem(`leads to ${current}, which does not exist`);
      return problem(`leads to ${current}, which is not a symlink to the store`);
    }
    watch.add(dirname(current));
    const storePath = storePathIn(dirs, target);
    if (storePath !== undefined)
      return { kind: "roots", storePaths: [storePath], watch: [...watch] };
    current = target;
  }
  return problem("is a chain of symlinks too long to follow");
}

/**
 * As Nix's collector searches gcroots/: subdirectories recursively (not through symlinks to
 * directories); a symlink into the store is a root, and so is a symlink to a symlink into the
 * store (gcroots/auto/ links to a build's `result`); a regular file named like a store path is
 * a root by its name.
 */
function searchDirectory(top: string, dirs: StoreDirs): Resolved {
  const storePaths = new Set<string>();
  const watch = new Set<string>();
  const search = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // Gone meanwhile, or unreadable: nothing rooted there.
    }
    watch.add(dir);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) search(path);
      else if (entry.isSymbolicLink()) {
        const root = linkRoot(path, dirs, watch);
        if (root !== undefined) storePaths.add(root);
      } else if (entry.isFile() && isStoreBaseName(entry.name)) {
        storePaths.add(`${dirs.virtual}/${entry.name}`);
      }
    }
  };
  search(top);
  return { kind: "roots", storePaths: [...storePaths], watch: [...watch] };
}

function linkRoot(path: string, dirs: StoreDirs, watch: Set<string>): string | undefined {
  try {
    const target = resolve(dirname(path), readlinkSync(path));
    const direct = storePathIn(dirs, target);
    if (direct !== undefined) return direct;
    const second = resolve(dirname(target), readlinkSync(target));
    watch.add(dirname(target));
    return storePathIn(dirs, second);
  } catch {
    return undefined; // Dangling, or not a link: not a root, as for Nix.
  }
}
