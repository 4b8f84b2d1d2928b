// Reads a file tree from disk into a listing (see core/nar-listing.ts), names as bytes, and
// counts along the NAR that `nix-store --dump` would make of it to know each file's narOffset.

import { lstatSync, readlinkSync } from "node:fs";
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
} from "../../core/nix/nar-framing.ts";
import type { ListingEntry, ListingNode } from "../../core/nix/nar-listing.ts";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import { walkTree } from "./tree-walk.ts";

const S_IXUSR = 0o100;
/** The u64 length before a file's contents. */
const LENGTH_PREFIX = 8;
/** The walk gives the event loop a turn this often, so that a huge tree holds up no one. */
const NODES_PER_TURN = 1024;

/** The listing of `path` (a real file system path), recursively. */
export async function readListing(path: Buffer): Promise<ListingNode> {
  try {
    return await listTree(path);
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

async function listTree(path: Buffer): Promise<ListingNode> {
  /** Bytes of the NAR before the current point. */
  let offset = NAR_MAGIC.length;
  /** The entries of the directories being walked, innermost last. */
  const directories: ListingEntry[][] = [];
  let top: ListingNode | undefined;
  let nodes = 0;
  for (const step of walkTree(path, lstatSync(path))) {
    if ("leave" in step) {
      if (step.leave.type.isDirectory()) {
        directories.pop();
        offset += CLOSE.length;
      }
      if (step.leave.name !== undefined) offset += CLOSE.length;
      continue;
    }
    const { path: nodePath, name, type } = step.enter;
    if (name !== undefined)
      offset += ENTRY_OPEN.length + framedLength(name.length) + ENTRY_NODE.length;
    let node: ListingNode;
    let entries: ListingEntry[] | undefined;
    if (type.isFile()) {
      const stats = lstatSync(nodePath);
      const executable = (stats.mode & S_IXUSR) !== 0;
      offset += (executable ? EXECUTABLE_OPEN : REGULAR_OPEN).length + LENGTH_PREFIX;
      node = { type: "regular", size: stats.size, executable, narOffset: offset };
      offset += framedLength(stats.size) - LENGTH_PREFIX + CLOSE.length;
    } else if (type.isSymbolicLink()) {
      const target = readlinkSync(nodePath, { encoding: "buffer" });
      offset += SYMLINK_OPEN.length + framedLength(target.length) + CLOSE.length;
      node = { type: "symlink", target };
    } else {
      offset += DIRECTORY_OPEN.length;
      entries = [];
      node = { type: "directory", entries };
    }
    const parent = directories[directories.length - 1];
    if (name !== undefined) parent?.push({ name, node });
    else top = node;
    if (entries !== undefined) directories.push(entries);
    nodes += 1;
    if (nodes % NODES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (top === undefined)
    throw new StorefrontError("store_changed", `${path.toString()}: not listed`);
  return top;
}
