// From a hash in a URL to a valid store path whose files are on disk, for the routes that read
// a path's files (.ls, /serve). Misses are `not_found`, whatever the reason.

import { lstatSync, type Stats } from "node:fs";
import type { PathNar } from "../../core/nix/path-info.ts";
import { storePathBaseName, type StoreHash } from "../../core/nix/store-path.ts";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import { isSameFile } from "./same-file.ts";

export interface StoreDirs {
  /** The store directory in store paths, e.g. /nix/store. */
  readonly virtual: string;
  /** Where its files are on disk. */
  readonly real: string;
}

/** The store directories a config names. */
export function storeDirsOf(config: {
  readonly virtual_nix_store: string;
  readonly real_nix_store: string;
}): StoreDirs {
  return { virtual: config.virtual_nix_store, real: config.real_nix_store };
}

export interface ValidPathOnDisk {
  readonly info: PathNar;
  /** `<hash>-<name>`. */
  readonly baseName: string;
  readonly realPath: string;
  readonly stats: Stats;
  /**
   * Throws `store_changed` unless the path is still what it was when found: the same
   * registration (NarHash and row) in the database, and the same file or directory at its
   * top. One query and one lstat: cheap enough for every download's last chunk.
   */
  readonly assertUnchanged: () => void;
}

/**
 * Synchronous, as the NAR serialiser is: one lstat of metadata that is almost always cached,
 * where a call through libuv's thread pool costs a round trip that takes longer.
 */
export function validPathOnDisk(
  store: { pathNar(hash: StoreHash): PathNar | undefined },
  dirs: StoreDirs,
  hash: StoreHash,
): ValidPathOnDisk {
  const info = store.pathNar(hash);
  if (info === undefined) throw new StorefrontError("not_found", `no valid path ${hash}`);
  const baseName = storePathBaseName(dirs.virtual, info.storePath);
  if (baseName === undefined) {
    throw new StorefrontError("internal", `odd store path ${info.storePath}`);
  }
  const realPath = `${dirs.real}/${baseName}`;
  let stats: Stats;
  try {
    stats = lstatSync(realPath);
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("not_found", `${realPath} is registered but gone from disk`);
    }
    throw error;
  }
  const assertUnchanged = (): void => {
    const now = store.pathNar(hash);
    if (now?.registration !== info.registration || now.narHash !== info.narHash) {
      throw new StorefrontError("store_changed", `${realPath}: registered again while read`);
    }
    if (!isSameFile(stats, topNow(realPath))) {
      throw new StorefrontError("store_changed", `${realPath}: replaced while read`);
    }
  };
  return { info, baseName, realPath, stats, assertUnchanged };
}

function topNow(realPath: string): Stats {
  try {
    return lstatSync(realPath);
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("store_changed", `${realPath}: gone while read`, { cause: error });
    }
    throw error;
  }
}
