// A store path as a tar archive, for machines without Nix: `curl .../<hash>.tar | tar -x`.
// Entries keep what the store has: read-only modes (0555 for executables and directories,
// 0444 for other files), symlinks with their targets, and the store's mtimes (Nix sets 1).
// Everything sits under one top directory named `<hash>-<name>`, or is that one entry when
// the path is a single file or symlink.
//
// tar-stream writes names as UTF-8 strings, so a name that is not valid UTF-8 (rare in a
// store) comes out with U+FFFD in place of its odd bytes.

import type { Stats } from "node:fs";
import { lstat, open, readlink } from "node:fs/promises";
import { pack as tarPack, type Header, type Pack } from "tar-stream";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import { walkTree } from "./tree-walk.ts";

type Entry = ReturnType<Pack["entry"]>;

const S_IXUSR = 0o100;
/** File contents are read in chunks of this size; tar-stream passes them on as they are. */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * The tar archive of the tree at `realPath` (whose lstat is `stats`), named `topName` inside
 * the archive. Stopping the iteration (the client went away) stops the walk and closes any
 * open file; a failing walk fails the iteration.
 */
export async function* storePathTar(
  realPath: string,
  stats: Stats,
  topName: string,
): AsyncGenerator<Buffer> {
  const pack = tarPack();
  addTree(pack, Buffer.from(realPath), stats, topName).then(
    () => {
      if (!pack.destroying) pack.finalize();
    },
    (error: unknown) => {
      pack.destroy(storeChangedIfMissing(error, realPath));
    },
  );
  try {
    for await (const chunk of pack) {
      if (chunk instanceof Uint8Array) {
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    }
  } finally {
    // Stopped early: the walk sees this and stops reading.
    if (!pack.destroying) pack.destroy();
  }
}

/** Adds the tree at `path` (whose lstat is `top`) to `pack`, one entry a node. */
async function addTree(pack: Pack, path: Buffer, top: Stats, topName: string): Promise<void> {
  /** The names in the archive of the directories being walked, innermost last. */
  const directories: string[] = [];
  for (const step of walkTree(path, top)) {
    if (pack.destroying) return;
    if ("leave" in step) {
      if (step.leave.type.isDirectory()) directories.pop();
      continue;
    }
    const { path: nodePath, name: nodeName, type } = step.enter;
    const name =
      nodeName === undefined
        ? topName
        : `${directories[directories.length - 1] ?? topName}/${nodeName.toString()}`;
    // The whole lstat: a tar entry keeps every node's mode and mtime.
    const stats = nodeName === undefined ? top : await lstat(nodePath);
    const mtime = new Date(stats.mtimeMs);
    if (type.isFile()) {
      const mode = (stats.mode & S_IXUSR) !== 0 ? 0o555 : 0o444;
      await addEntry(pack, { name, type: "file", mode, mtime, size: stats.size }, (entry) =>
        copyFile(pack, entry, nodePath, stats.size),
      );
    } else if (type.isSymbolicLink()) {
      const linkname = (await readlink(nodePath, { encoding: "buffer" })).toString();
      await addEntry(pack, { name, type: "symlink", mode: 0o777, mtime, linkname }, () =>
        Promise.resolve(),
      );
    } else {
      await addEntry(pack, { name, type: "directory", mode: 0o555, mtime }, () =>
        Promise.resolve(),
      );
      directories.push(name);
    }
  }
}

/** Adds one entry; `fill` writes its contents. Resolves once tar-stream has taken it whole. */
function addEntry(
  pack: Pack,
  header: Partial<Header> & Pick<Header, "name">,
  fill: (entry: Entry) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry(header, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error);
    });
    fill(entry).then(
      () => {
        entry.end(undefined);
      },
      (error: unknown) => {
        entry.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function copyFile(pack: Pack, entry: Entry, path: Buffer, size: number): Promise<void> {
  if (size === 0) return;
  const file = await open(path, "r");
  try {
    let position = 0;
    while (position < size) {
      if (pack.destroying) return;
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - position));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) {
        throw new StorefrontError("store_changed", `${path.toString()}: file shrank while read`);
      }
      position += bytesRead;
      if (!entry.write(buffer.subarray(0, bytesRead))) await drainedOrClosed(pack, entry);
    }
  } finally {
    await file.close();
  }
}

/**
 * A file or directory gone while walked: the path was collected or rebuilt under the request,
 * a case of its own (a warning in the log, a cut download), not an internal error.
 */
function storeChangedIfMissing(error: unknown, realPath: string): Error {
  if (isMissingFileError(error)) {
    return new StorefrontError("store_changed", `${realPath} changed while archived`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Resolves when `entry` takes writes again, or when it or the archive is gone. At once when
 * either is gone already: their `close` may have fired before this was called (the client went
 * away between the read and the write), and waiting for it would keep the file open until the
 * garbage collector closed it.
 */
function drainedOrClosed(pack: Pack, entry: Entry): Promise<void> {
  if (pack.destroying || entry.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      entry.off("drain", done);
      entry.off("close", done);
      pack.off("close", done);
      resolve();
    };
    entry.on("drain", done);
    entry.on("close", done);
    pack.on("close", done);
  });
}
