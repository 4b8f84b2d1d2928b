// The one walk of a store path's tree, under the NAR stream, the `.ls` listing and the `.tar`:
// in NAR order (a directory's entries sorted by the bytes of their names), names as bytes,
// exactly as the file system has them, UTF-8 or not.
//
// Synchronous, as nar-stream.ts explains: each call is one system call on metadata that is
// almost always in the page cache, where an async call costs a round trip through libuv's
// thread pool that takes far longer. The entry types come with the names (readdir's d_type):
// no lstat for a node unless its walker needs more than its type.

import { readdirSync, type Dirent, type Stats } from "node:fs";
import { StorefrontError } from "../../errors.ts";

const SLASH = Buffer.from("/");

export interface TreeNode {
  /** Its path on disk. */
  readonly path: Buffer;
  /** Its name in its directory; undefined for the top of the tree. */
  readonly name: Buffer | undefined;
  /** Its type: the top's lstat, or the entry read with the directory. */
  readonly type: Stats | Dirent<Buffer>;
}

/** A node reached (`enter`), or left once all of it (a directory's entries) was walked. */
export type TreeStep = { readonly enter: TreeNode } | { readonly leave: TreeNode };

/**
 * The steps of the walk of the tree at `path`, whose lstat is `top`. A node that is not a file,
 * a symlink or a directory fails it with `store_changed`. Stopping the iteration stops the walk
 * at once: it holds nothing open between steps.
 */
export function walkTree(path: Buffer, top: Stats): Generator<TreeStep, void> {
  return walkNode({ path, name: undefined, type: top });
}

function* walkNode(node: TreeNode): Generator<TreeStep, void> {
  const { path, type } = node;
  if (!type.isFile() && !type.isSymbolicLink() && !type.isDirectory()) {
    throw new StorefrontError(
      "store_changed",
      `${path.toString()}: not a file, symlink or directory`,
    );
  }
  yield { enter: node };
  if (type.isDirectory()) {
    const entries = readdirSync(path, { encoding: "buffer", withFileTypes: true });
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      yield* walkNode({
        path: Buffer.concat([path, SLASH, entry.name]),
        name: entry.name,
        type: entry,
      });
    }
  }
  yield { leave: node };
}
