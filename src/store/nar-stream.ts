// Serialises a file tree as a NAR, as `nix-store --dump` does, streamed in chunks. Paths are
// handled as bytes throughout: a NAR holds names exactly as the file system has them, UTF-8 or
// not, and sorts directory entries by their bytes.

import { lstat, open, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { StorefrontError } from "../errors.ts";
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
} from "../core/nar-framing.ts";
import { NarChunks, type NarWindow } from "./nar-chunks.ts";

const SLASH = Buffer.from("/");
const S_IXUSR = 0o100;

/**
 * Yields the NAR of `path` (a real file system path) in chunks. `narSize` is the size the
 * database promised; a tree that serialises to anything else fails with `store_changed` before
 * the last chunk. Stopping the iteration (the client went away) closes any open file at once.
 *
 * With a `window`, yields only those bytes: the tree is walked (framing depends on names and
 * sizes), but files whose contents lie outside the window are not opened, and the walk stops
 * once the window is full.
 */
export async function* narStream(
  path: string,
  narSize: number,
  window?: NarWindow,
): AsyncGenerator<Buffer> {
  const chunks = new NarChunks(narSize, window);
  chunks.put(NAR_MAGIC);
  yield* serialise(Buffer.from(path), await lstat(path), chunks);
  yield chunks.finish();
}

async function* serialise(path: Buffer, stats: Stats, chunks: NarChunks): AsyncGenerator<Buffer> {
  if (stats.isFile()) {
    chunks.put((stats.mode & S_IXUSR) !== 0 ? EXECUTABLE_OPEN : REGULAR_OPEN);
    chunks.put(lengthPrefix(stats.size));
    yield* copyContents(path, stats.size, chunks);
    chunks.put(padding(stats.size));
  } else if (stats.isSymbolicLink()) {
    chunks.put(SYMLINK_OPEN);
    chunks.put(framedBytes(await readlink(path, { encoding: "buffer" })));
  } else if (stats.isDirectory()) {
    chunks.put(DIRECTORY_OPEN);
    const names = await readdir(path, { encoding: "buffer" });
    names.sort((a, b) => Buffer.compare(a, b));
    for (const name of names) {
      if (chunks.done) return;
      const child = Buffer.concat([path, SLASH, name]);
      chunks.put(ENTRY_OPEN);
      chunks.put(framedBytes(name));
      chunks.put(ENTRY_NODE);
      yield* serialise(child, await lstat(child), chunks);
      chunks.put(CLOSE);
      yield* chunks.drain();
    }
  } else {
    throw new StorefrontError(
      "store_changed",
      `${path.toString()}: not a file, symlink or directory`,
    );
  }
  chunks.put(CLOSE);
  yield* chunks.drain();
}

async function* copyContents(
  path: Buffer,
  size: number,
  chunks: NarChunks,
): AsyncGenerator<Buffer> {
  const { from, to } = chunks.window(size);
  chunks.skip(from);
  if (from < to) yield* copyRange(path, from, to, chunks);
  chunks.skip(size - to);
}

/** Copies bytes `from` up to `to` of the file at `path` into `chunks`. */
async function* copyRange(
  path: Buffer,
  from: number,
  to: number,
  chunks: NarChunks,
): AsyncGenerator<Buffer> {
  const file = await open(path, "r");
  try {
    let position = from;
    while (position < to) {
      const { buffer, offset, length } = chunks.reserve();
      const { bytesRead } = await file.read(
        buffer,
        offset,
        Math.min(length, to - position),
        position,
      );
      if (bytesRead === 0) {
        throw new StorefrontError("store_changed", `${path.toString()}: file shrank while read`);
      }
      position += bytesRead;
      chunks.commit(bytesRead);
      yield* chunks.drain();
    }
  } finally {
    await file.close();
  }
}
