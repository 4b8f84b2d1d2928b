// Reads a file tree from disk into a listing, names as bytes (see core/nar-listing.ts).

import { lstat, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import type { ListingEntry, ListingNode } from "../core/nar-listing.ts";
import { StorefrontError, isMissingFileError } from "../errors.ts";

const SLASH = Buffer.from("/");
const S_IXUSR = 0o100;

/** The listing of `path` (a real file system path), recursively. */
export async function readListing(path: Buffer): Promise<ListingNode> {
  try {
    return await nodeOf(path, await lstat(path));
  } catch (error) {
    // Collected by the GC while we walked it: as good as absent.
    if (isMissingFileError(error)) {
      throw new StorefrontError("store_changed", `${path.toString()} vanished while listed`, {
        cause: error,
      });
    }
    throw error;
  }
}

async function nodeOf(path: Buffer, stats: Stats): Promise<ListingNode> {
  if (stats.isFile()) {
    return { type: "regular", size: stats.size, executable: (stats.mode & S_IXUSR) !== 0 };
  }
  if (stats.isSymbolicLink()) {
    return { type: "symlink", target: await readlink(path, { encoding: "buffer" }) };
  }
  if (stats.isDirectory()) {
    const entries: ListingEntry[] = [];
    for (const name of await readdir(path, { encoding: "buffer" })) {
      const child = Buffer.concat([path, SLASH, name]);
      entries.push({ name, node: await nodeOf(child, await lstat(child)) });
    }
    return { type: "directory", entries };
  }
  throw new StorefrontError(
    "store_changed",
    `${path.toString()}: not a file, symlink or directory`,
  );
}
