// From a validated hash to a store path that can be served: known to the database and still
// on disk. Shared by the routes that read a path's files (NARs, tarballs).

import { lstat } from "node:fs/promises";
import type { Stats } from "node:fs";
import type { PathInfo } from "../core/path-info.ts";
import { storePathBaseName, type StoreHash } from "../core/store-path.ts";
import { StorefrontError, isMissingFileError } from "../errors.ts";
import type { Services } from "./services.ts";

export interface ServedPath {
  readonly info: PathInfo;
  /** `<hash>-<name>`. */
  readonly baseName: string;
  /** Where its files are. */
  readonly realPath: string;
  /** lstat of `realPath`. */
  readonly stats: Stats;
}

/** The valid path with this hash; `not_found` when the database or the disk lacks it. */
export async function findServedPath(
  { config, store }: Services,
  hash: StoreHash,
): Promise<ServedPath> {
  const info = store.pathInfo(hash);
  if (info === undefined) throw new StorefrontError("not_found", `no valid path ${hash}`);
  const baseName = storePathBaseName(config.virtual_nix_store, info.storePath);
  if (baseName === undefined) {
    throw new StorefrontError("internal", `odd store path ${info.storePath}`);
  }
  const realPath = `${config.real_nix_store}/${baseName}`;
  try {
    return { info, baseName, realPath, stats: await lstat(realPath) };
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("not_found", `${realPath} is registered but gone from disk`);
    }
    throw error;
  }
}
