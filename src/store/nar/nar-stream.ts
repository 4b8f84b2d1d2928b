// Serialises a file tree as a NAR, as `nix-store --dump` does, streamed in chunks. Paths are
// handled as bytes throughout: a NAR holds names exactly as the file system has them, UTF-8 or
// not, and sorts directory entries by their bytes.
//
// Everything is read with synchronous calls, as nginx reads files (without its `aio`): each call
// is one system call on data that is almost always in the page cache, where an async call costs
// a round trip through libuv's thread pool that takes far longer than the call itself (profiles
// of the benchmark: the event loop idle 60-70 % of the time, waiting for lstat, open, read and
// close one after the other; async reads of the large files alone cost NAR c16 about 11 % on
// two cores). Directories, symlinks and small files are read until a chunk is full; a large
// file is read a chunk at a time, each chunk handed over before the next is read, so that a
// download holds a chunk or two whatever the file's size. The price: a read from a cold disk
// holds up the other downloads of the same worker for the length of that one read.
//
// With a window (a Range request), only those bytes are yielded: the tree is walked (framing
// depends on names and sizes), but files whose contents lie outside the window are not opened,
// and the walk stops once the window is full.

import { closeSync, fstatSync, lstatSync, openSync, readSync } from "node:fs";
import { readlinkSync } from "node:fs";
import { constants, type Stats } from "node:fs";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import {
  CLOSE,
  DIRECTORY_OPEN,
  ENTRY_NODE,
  ENTRY_OPEN,
  EXECUTABLE_OPEN,
  NAR_MAGIC,
  REGULAR_OPEN,
  SYMLINK_OPEN,
  framedBytes,
  lengthPrefix,
  padding,
} from "../../core/nix/nar-framing.ts";
import type { LayoutSpan } from "../../core/nix/nar-layout.ts";
import { NarChunks, type NarWindow } from "./chunks.ts";
import { isSameFile } from "./same-file.ts";
import { walkTree } from "./tree-walk.ts";

const S_IXUSR = 0o100;

/**
 * Files up to this size are read whole within the walk; larger ones a chunk at a time. At
 * page-cache speed a read this size takes tens of microseconds.
 */
const SYNC_READ_MAX_BYTES = 256 * 1024;

/**
 * Files larger than this are the spans of a NAR's layout (core/nar-layout.ts): read from the
 * store each time. Smaller ones are kept in the layout, where reading them costs no open, fstat
 * and close of their own. At 64 KiB the benchmark closure's layouts hold 13 % of its NAR bytes
 * and name 1,431 of its 22,715 files.
 */
const LAYOUT_INLINE_MAX_BYTES = 64 * 1024;

/** What a walk is writing to, and what it tells about the NAR's layout as it goes. */
interface Walk {
  readonly chunks: NarChunks;
  /** Bytes of the top path: a file's path past them (and a slash) is its path in the layout. */
  readonly rootLength: number;
  /** The top path's lstat when the download started: a top file read must be that file. */
  readonly top: Stats;
  /** Told of each file larger than LAYOUT_INLINE_MAX_BYTES, before its contents. */
  readonly onLargeFile: ((span: LayoutSpan) => void) | undefined;
}

/** Part of a large file met during the walk, to be copied chunk by chunk before it goes on. */
interface LargeFile {
  readonly path: Buffer;
  /** As the walk found it: the file copied must be this one, unchanged. */
  readonly stats: Stats;
  readonly size: number;
  /** Bytes `from` up to, not including, `to` of the file. */
  readonly from: number;
  readonly to: number;
}

export interface NarStreamOptions {
  /** The lstat of the path, when the caller has it already. */
  readonly top?: Stats | undefined;
  /** Told of the layout's spans (whole NARs only: a window skips what a layout must hold). */
  readonly onLargeFile?: ((span: LayoutSpan) => void) | undefined;
  /** Called before the last chunk; throws to keep it back (the store changed). */
  readonly beforeLast?: (() => void) | undefined;
}

/**
 * Yields the NAR of `path` (a real file system path) in chunks. `narSize` is the size the
 * database promised; a tree that serialises to anything else fails with `store_changed` before
 * the last chunk, as does a large file that is not the same file from its listing to the end
 * of its copy. Stopping the iteration (the client went away) closes any open file at once.
 */
export function* narStream(
  path: string,
  narSize: number,
  window?: NarWindow,
  { top, onLargeFile, beforeLast }: NarStreamOptions = {},
): Generator<Buffer> {
  const chunks = new NarChunks(narSize, window);
  chunks.put(NAR_MAGIC);
  try {
    const root = Buffer.from(path);
    const topStats = top ?? lstatSync(path);
    const walk: Walk = {
      chunks,
      rootLength: root.length,
      top: topStats,
      onLargeFile: chunks.whole ? onLargeFile : undefined,
    };
    for (const step of walkTree(root, topStats)) {
      if ("leave" in step) {
        chunks.put(CLOSE);
        // An entry's close too; then a pause, so that no more than a chunk is held before the
        // client takes it.
        if (step.leave.name !== undefined) chunks.put(CLOSE);
        if (chunks.hasReady()) yield* chunks.drain();
        continue;
      }
      const { path: nodePath, name, type } = step.enter;
      if (name !== undefined) {
        // A window that is full needs no more of the tree.
        if (chunks.done) break;
        chunks.put(ENTRY_OPEN);
        chunks.put(framedBytes(name));
        chunks.put(ENTRY_NODE);
      }
      if (type.isFile()) {
        const large = serialiseFile(nodePath, walk);
        if (large === undefined) continue;
        yield* chunks.drain();
        yield* copyLargeFile(large, chunks);
        chunks.skip(large.size - large.to);
        chunks.put(padding(large.size));
      } else if (type.isSymbolicLink()) {
        chunks.put(SYMLINK_OPEN);
        chunks.put(framedBytes(readlinkSync(nodePath, { encoding: "buffer" })));
      } else {
        chunks.put(DIRECTORY_OPEN);
      }
    }
    yield* chunks.drain();
    beforeLast?.();
  } catch (error) {
    // Files or directories gone while read (a garbage collection, say): the store changed,
    // which is a 404 if no byte has gone out yet, not an internal error.
    if (isMissingFileError(error)) {
      throw new StorefrontError("store_changed", `${path}: files gone while read`, {
        cause: error,
      });
    }
    throw error;
  }
  yield chunks.finish();
}

/**
 * Writes a regular file's node into `chunks` (but its closing paren), synchronously; returns
 * the part of a large file still to copy, a chunk at a time, before its padding.
 */
function serialiseFile(path: Buffer, walk: Walk): LargeFile | undefined {
  const { chunks } = walk;
  // A whole NAR reads every file: open it, then ask the open file for its size and mode, which
  // walks the path once, not twice (lstat, then open). Under a window, a file may be skipped
  // whole: ask the path, and open the file only if some of it is needed.
  const fd = chunks.whole ? openListedFile(path) : undefined;
  try {
    const stats = fd === undefined ? lstatSync(path) : fstatSync(fd);
    if (!stats.isFile()) {
      throw new StorefrontError("store_changed", `${path.toString()}: no longer a file`);
    }
    if (path.length === walk.rootLength && !isSameFile(walk.top, stats)) {
      throw new StorefrontError("store_changed", `${path.toString()}: replaced while read`);
    }
    const size = stats.size;
    chunks.put((stats.mode & S_IXUSR) !== 0 ? EXECUTABLE_OPEN : REGULAR_OPEN);
    chunks.put(lengthPrefix(size));
    if (walk.onLargeFile !== undefined && size > LAYOUT_INLINE_MAX_BYTES) {
      const relative = path.subarray(Math.min(path.length, walk.rootLength + 1));
      walk.onLargeFile({ narOffset: chunks.offset, length: size, path: relative });
    }
    const { from, to } = chunks.window(size);
    chunks.skip(from);
    // Copied by copyLargeFile, from a descriptor of its own: a walk abandoned meanwhile holds
    // none.
    if (to - from > SYNC_READ_MAX_BYTES) return { path, stats, size, from, to };
    if (from < to) copySmallRange(fd ?? path, path, from, to, chunks);
    chunks.skip(size - to);
    chunks.put(padding(size));
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Opens a file that was a regular file when its directory was listed, for reading. */
export function openListedFile(path: Buffer): number {
  try {
    // O_NOFOLLOW: a file that became a symlink fails (ELOOP), never followed. O_NONBLOCK: one
    // that became a FIFO fails the isFile check after opening, instead of blocking here.
    return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new StorefrontError("store_changed", `${path.toString()}: no longer a file`, {
        cause: error,
      });
    }
    throw error;
  }
}

function copySmallRange(
  file: number | Buffer,
  path: Buffer,
  from: number,
  to: number,
  chunks: NarChunks,
): void {
  const fd = typeof file === "number" ? file : openListedFile(path);
  try {
    for (let position = from; position < to;) position += readInto(fd, path, position, to, chunks);
  } finally {
    if (fd !== file) closeSync(fd);
  }
}

/** Reads the file's bytes from `position` (up to `to`) into the free part of the current chunk. */
export function readInto(
  fd: number,
  path: Buffer,
  position: number,
  to: number,
  chunks: NarChunks,
): number {
  const { buffer, offset, length } = chunks.reserve();
  const bytesRead = readSync(fd, buffer, offset, Math.min(length, to - position), position);
  if (bytesRead === 0) {
    throw new StorefrontError("store_changed", `${path.toString()}: file shrank while read`);
  }
  chunks.commit(bytesRead);
  return bytesRead;
}

/**
 * Copies a large file a chunk at a time. Its own descriptor, closed when the consumer stops
 * (the client went away), since the walk that met the file may be abandoned at that point.
 */
function* copyLargeFile(
  { path, stats, from, to }: LargeFile,
  chunks: NarChunks,
): Generator<Buffer> {
  const fd = openListedFile(path);
  try {
    assertSameFile(stats, fstatSync(fd), path);
    for (let position = from; position < to;) {
      position += readInto(fd, path, position, to, chunks);
      yield* chunks.drain();
    }
    assertSameFile(stats, fstatSync(fd), path);
  } finally {
    closeSync(fd);
  }
}

/** Throws `store_changed` unless the open file is still the one found as `before`. */
export function assertSameFile(before: Stats, now: Stats, path: Buffer): void {
  if (!isSameFile(before, now)) {
    throw new StorefrontError("store_changed", `${path.toString()}: changed while read`);
  }
}
