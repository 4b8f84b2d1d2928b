// Reads a file tree from disk into a listing (see core/nar-listing.ts), names as bytes, and
// counts along the NAR that `nix-store --dump` would make of it to know each file's narOffset.

import { lstat, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import {
  CLOSE,
  DIRECTORY_OPEN,
  ENTRY_NODE,
  ENTRY_OPEN,
  EXECUTABLE_OPEN,
  NAR_MAGIC,
  REGULAR_OPEN,
  SYMLINK_OPEN,
  framedLength,
} from "../core/nix/nar-framing.ts";
import type { ListingEntry, ListingNode } from "../core/nix/nar-listing.ts";
import { StorefrontError, isMissingFileError } from "../errors.ts";

const SLASH = Buffer.from("/");
const S_IXUSR = 0o100;
/** The u64 length before a file's contents. */
const LENGTH_PREFIX = 8;

/** The listing of `path` (a real file system path), recursively. */
export async function readListing(path: Buffer): Promise<ListingNode> {
  try {
    const walk = new ListingWalk();
    return await walk.node(path, await lstat(path));
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

class ListingWalk {
  /** Bytes of the NAR before the current point. */
  #offset = NAR_MAGIC.length;

  async node(path: Buffer, stats: Stats): Promise<ListingNode> {
    if (stats.isFile()) {
      const executable = (stats.mode & S_IXUSR) !== 0;
      this.#offset += (executable ? EXECUTABLE_OPEN : REGULAR_OPEN).length + LENGTH_PREFIX;
      const narOffset = this.#offset;
      this.#offset += framedLength(stats.size) - LENGTH_PREFIX + CLOSE.length;
      return { type: "regular", size: stats.size, executable, narOffset };
    }
    if (stats.isSymbolicLink()) {
      const target = await readlink(path, { encoding: "buffer" });
      this.#offset += SYMLINK_OPEN.length + framedLength(target.length) + CLOSE.length;
      return { type: "symlink", target };
    }
    if (stats.isDirectory()) {
      this.#offset += DIRECTORY_OPEN.length;
      const names = await readdir(path, { encoding: "buffer" });
      // NAR order: offsets follow the entries sorted by their bytes.
      names.sort((a, b) => Buffer.compare(a, b));
      const entries: ListingEntry[] = [];
      for (const name of names) {
        const child = Buffer.concat([path, SLASH, name]);
        this.#offset += ENTRY_OPEN.length + framedLength(name.length) + ENTRY_NODE.length;
        entries.push({ name, node: await this.node(child, await lstat(child)) });
        this.#offset += CLOSE.length;
      }
      this.#offset += CLOSE.length;
      return { type: "directory", entries };
    }
    throw new StorefrontError(
      "store_changed",
      `${path.toString()}: not a file, symlink or directory`,
    );
  }
}
