// From a hash in a URL to a valid store path whose files are on disk, for the routes that read
// a path's files (.ls, /serve). Misses are `not_found`, whatever the reason.

import { lstatSync, type Stats } from "node:fs";
import type { PathNar } from "../core/path-info.ts";
import { storePathBaseName, type StoreHash } from "../core/store-path.ts";
import { StorefrontError, isMissingFileError } from "../errors.ts";

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
  try {
    return { info, baseName, realPath, stats: lstatSync(realPath) };
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("not_found", `${realPath} is registered but gone from disk`);
    }
    throw error;
  }
}
