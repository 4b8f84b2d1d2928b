// Whether a file is still the one a download started from. NARs are read lazily, file by file,
// so a store path deleted and built again mid-download (a build that is not deterministic makes
// the same path with other bytes) could otherwise mix the two builds in one body.

import type { Stats } from "node:fs";

/**
 * True when `now` is the file `before` was, unchanged: the same inode, size and times. A file
 * written to gets new times; a file replaced by another of the same name gets another inode,
 * or (an inode number reused) another change time.
 */
export function isSameFile(before: Stats, now: Stats): boolean {
  return (
    now.ino === before.ino &&
    now.dev === before.dev &&
    now.size === before.size &&
    now.mtimeMs === before.mtimeMs &&
    now.ctimeMs === before.ctimeMs
  );
}
