// NAR layouts (core/nar-layout.ts) kept in the NAR cache directory, keyed by NarHash: the first
// download of a NAR walks the store path and records its layout as it streams; later ones read
// the layout and the path's large files, with no walk. Two store paths with the same NarHash
// have the same files, so one layout serves both.
//
// An entry is checked when opened (its footer against the file's size and the NAR's size, its
// table for order and sums, its paths for anything that could leave the store path); a damaged
// one is removed and the NAR walked again. The large files are checked as they are opened: a
// regular file of the span's size, or the store changed under us, as when walking.
//
// A NAR from a layout is not hashed (that would cost repeat downloads their speed; the inline
// bytes were hashed when the layout was recorded), so its last chunk waits for two checks
// instead: each large file stayed the same file while it was read, and the store path is still
// the registration the request started with (`assertUnchanged`): a path deleted and built
// again mid-download, with other bytes, gets a row of its own in the database. A layout without
// large files reads nothing from the store path, so it needs neither.

import { closeSync, fstatSync, readSync } from "node:fs";
import { StorefrontError, isMissingFileError } from "../../errors.ts";
import {
  decodeLayoutFooter,
  decodeLayoutTable,
  FOOTER_BYTES,
  type LayoutSpan,
  type NarLayout,
} from "../../core/nix/nar-layout.ts";
import type { CacheDirectory, OpenEntry } from "./cache-directory.ts";
import { NarChunks } from "../nar/chunks.ts";
import { assertSameFile, openListedFile, readInto } from "../nar/nar-stream.ts";
import { HashThread } from "./hash-thread.ts";
import { LayoutRecorder } from "./layout-recorder.ts";
import { TempEntry } from "./temp-entry.ts";

/**
 * What is read at once from an entry's end: the footer, and the table when it is this small,
 * as it almost always is (the benchmark closure: 262 bytes on average, 3 of 358 over 4 KiB).
 */
const TAIL_READ_BYTES = 4096;

export class NarLayoutCache {
  readonly #directory: CacheDirectory;
  /** Where the NARs being recorded are hashed. */
  readonly #hashThread: HashThread;
  #hits = 0;
  #misses = 0;

  constructor(directory: CacheDirectory, hashThread = new HashThread()) {
    this.#directory = directory;
    this.#hashThread = hashThread;
  }

  get hits(): number {
    return this.#hits;
  }
  get misses(): number {
    return this.#misses;
  }

  /**
   * The NAR of `realPath` (NarHash `narHash32`, `narSize` bytes) from its layout, if a sound
   * one is cached: chunks from the NAR chunk pool, as the walk yields them. Iterate it to the
   * end or stop it with `return()`, which closes its files. `assertUnchanged` is called before
   * the last chunk of a layout with large files, and throws to keep it back.
   */
  open(
    narHash32: string,
    narSize: number,
    realPath: string,
    assertUnchanged: () => void,
  ): Generator<Buffer> | undefined {
    const name = entryName(narHash32);
    const entry = this.#directory.openEntry(name);
    if (entry === undefined) {
      this.#misses += 1;
      return undefined;
    }
    let stream: Generator<Buffer> | undefined;
    try {
      const layout = readLayout(entry);
      if (layout?.narSize !== narSize) {
        this.#directory.discard(name, "NAR layout");
        this.#misses += 1;
        return undefined;
      }
      this.#directory.used(name, entry);
      this.#hits += 1;
      // The stream owns the file from here: it closes it when done or stopped.
      stream = layoutNarStream(entry.fd, layout, Buffer.from(realPath), assertUnchanged);
      return stream;
    } finally {
      if (stream === undefined) closeSync(entry.fd);
    }
  }

  /**
   * A recorder for the layout of a NAR about to be walked, or undefined when this process is
   * recording that one already or the file cannot be made. Give `onLargeFile` to the walk,
   * every chunk to `take`, then `commit` once the walk completed, or `abort`. The layout is
   * kept only if the chunks hash to `narHash32`.
   */
  record(narHash32: string, narSize: number): LayoutRecorder | undefined {
    const entry = TempEntry.start(this.#directory, entryName(narHash32), "NAR cache");
    if (entry === undefined) return undefined;
    const nar = { narHash32, narSize };
    return new LayoutRecorder(entry, nar, this.#hashThread.begin(), this.#directory.log);
  }
}

function entryName(narHash32: string): string {
  return `${narHash32}.layout`;
}

/** The layout in an open entry, if it is sound. */
function readLayout({ fd, size }: OpenEntry): NarLayout | undefined {
  if (size < FOOTER_BYTES) return undefined;
  const tailStart = Math.max(0, size - TAIL_READ_BYTES);
  let tail = readExactly(fd, size - tailStart, tailStart);
  if (tail === undefined) return undefined;
  const footer = decodeLayoutFooter(tail.subarray(tail.length - FOOTER_BYTES), size);
  if (footer === undefined) return undefined;
  const trailerBytes = footer.tableBytes + FOOTER_BYTES;
  if (trailerBytes > tail.length) {
    tail = readExactly(fd, trailerBytes, size - trailerBytes);
    if (tail === undefined) return undefined;
  }
  const tableEnd = tail.length - FOOTER_BYTES;
  return decodeLayoutTable(tail.subarray(tableEnd - footer.tableBytes, tableEnd), footer);
}

function readExactly(fd: number, length: number, position: number): Buffer | undefined {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const count = readSync(fd, buffer, filled, length - filled, position + filled);
    if (count === 0) return undefined;
    filled += count;
  }
  return buffer;
}

/**
 * The NAR from a layout: the inline bytes from the entry (`fd`, closed when done or stopped),
 * each span's contents from its file under `root`. Held to the NAR's size as the walk is.
 */
function* layoutNarStream(
  fd: number,
  layout: NarLayout,
  root: Buffer,
  assertUnchanged: () => void,
): Generator<Buffer> {
  const chunks = new NarChunks(layout.narSize);
  const entry = Buffer.from("NAR layout");
  try {
    // Inline bytes read so far, and span bytes copied so far: together, the NAR's offset.
    let inline = 0;
    let spanned = 0;
    for (const span of layout.spans) {
      const before = span.narOffset - spanned;
      while (inline < before) {
        inline += readInto(fd, entry, inline, before, chunks);
        yield* chunks.drain();
      }
      yield* copySpan(root, span, chunks);
      spanned += span.length;
    }
    while (inline < layout.inlineBytes) {
      inline += readInto(fd, entry, inline, layout.inlineBytes, chunks);
      yield* chunks.drain();
    }
    // Without large files, no byte came from the store path: the NAR is the one recorded,
    // whole and hashed, whatever became of the path meanwhile. One query and one lstat less
    // for most small NARs.
    if (layout.spans.length > 0) assertUnchanged();
  } catch (error) {
    if (isMissingFileError(error)) {
      throw new StorefrontError("store_changed", `${root.toString()}: files gone while read`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    closeSync(fd);
  }
  yield chunks.finish();
}

/** A span's contents, from its file in the store path, which must still be what it was. */
function* copySpan(root: Buffer, span: LayoutSpan, chunks: NarChunks): Generator<Buffer> {
  const path = span.path.length === 0 ? root : Buffer.concat([root, SLASH, span.path]);
  const fd = openListedFile(path);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size !== span.length) {
      throw new StorefrontError("store_changed", `${path.toString()}: not the file it was`);
    }
    for (let position = 0; position < span.length;) {
      position += readInto(fd, path, position, span.length, chunks);
      yield* chunks.drain();
    }
    assertSameFile(stats, fstatSync(fd), path);
  } finally {
    closeSync(fd);
  }
}

const SLASH = Buffer.from("/");
