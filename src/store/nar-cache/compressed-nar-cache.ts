// zstd-compressed NARs kept in the NAR cache directory (cache-directory.ts), keyed by NarHash,
// so that a repeat download is a static file read: no tree walk, no compression, and a
// Content-Length.
//
// Each file is a 32-byte header and the compressed NAR. The header carries the NAR's size and
// the compressed length; an entry whose header or file size disagrees (a torn write, a disk
// error) is removed and never served.

import { closeSync, readSync } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { Transform } from "node:stream";
import { NAR_CHUNK_BYTES, takeChunk } from "../nar/chunks.ts";
import type { CacheDirectory, OpenEntry } from "./cache-directory.ts";

const MAGIC = Buffer.from("SFNARZ01");
/** magic (8), NAR size (u64), compressed length (u64), zstd level (u32), unused (4). */
export const HEADER_BYTES = 32;

export interface CachedNar {
  /**
   * The compressed NAR, in chunks (from the NAR chunk pool: `releaseChunk` each once written).
   * Iterate it to the end or stop it with `return()`: that closes the file.
   */
  readonly body: Iterable<Buffer>;
  readonly length: number;
}

export class CompressedNarCache {
  readonly #directory: CacheDirectory;
  readonly #level: number;
  #hits = 0;
  #misses = 0;
  #bytesServed = 0;
  #bytesWritten = 0;

  /** Entries of zstd `level` in `directory`; a level change makes new entries beside the old. */
  constructor(directory: CacheDirectory, level: number) {
    this.#directory = directory;
    this.#level = level;
  }

  get hits(): number {
    return this.#hits;
  }
  get misses(): number {
    return this.#misses;
  }
  /** Compressed bytes sent from cached files. */
  get bytesServed(): number {
    return this.#bytesServed;
  }
  /** Compressed bytes of entries added by this process. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * The cached compressed NAR for `narHash32` (of `narSize` bytes), if a sound one exists.
   * Synchronous: an open, an fstat and a 32-byte read of a file that is almost always in the
   * page cache.
   */
  open(narHash32: string, narSize: number): CachedNar | undefined {
    const name = this.#entryName(narHash32);
    const entry = this.#directory.openEntry(name);
    if (entry === undefined) {
      this.#misses += 1;
      return undefined;
    }
    let body: CachedNar["body"] | undefined;
    try {
      const length = compressedLength(entry, narSize);
      if (length === undefined) {
        this.#directory.discard(name, "compressed NAR");
        this.#misses += 1;
        return undefined;
      }
      this.#directory.used(name, entry);
      this.#hits += 1;
      this.#bytesServed += length;
      // The reader owns the file from here: it closes it when done or stopped.
      body = readInChunks(entry.fd, length);
      return { body, length };
    } finally {
      if (body === undefined) closeSync(entry.fd);
    }
  }

  /**
   * Starts a new entry for `narHash32`: pass the compressed NAR through `tee()`, then `commit()`
   * once the NAR went through whole, or `abort()`. Undefined when the file cannot be made, or
   * when this process is writing that entry already.
   */
  async startWrite(narHash32: string, narSize: number): Promise<CacheWriter | undefined> {
    const directory = this.#directory;
    const name = this.#entryName(narHash32);
    const temp = directory.claim(name);
    if (temp === undefined) return undefined;
    try {
      return new CacheWriter({
        handle: await open(temp, "wx"),
        temp,
        narSize,
        level: this.#level,
        maxLength: directory.maxSize,
        added: async (length) => {
          await directory.putInPlace(temp, name, HEADER_BYTES + length);
          this.#bytesWritten += length;
        },
        released: () => {
          directory.release(name);
        },
      });
    } catch (error) {
      directory.release(name);
      directory.log.warn("cannot add to the compressed NAR cache", { detail: String(error) });
      return undefined;
    }
  }

  #entryName(narHash32: string): string {
    return `${narHash32}.${this.#level}.zst`;
  }
}

/** The compressed length, when the header is ours and the file has exactly its size. */
function compressedLength({ fd, size }: OpenEntry, narSize: number): number | undefined {
  const header = Buffer.alloc(HEADER_BYTES);
  const bytesRead = readSync(fd, header, 0, HEADER_BYTES, 0);
  if (bytesRead !== HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) return undefined;
  const storedNarSize = Number(header.readBigUInt64LE(8));
  const length = Number(header.readBigUInt64LE(16));
  if (storedNarSize !== narSize || size !== HEADER_BYTES + length) return undefined;
  return length;
}

interface CacheWriterOptions {
  readonly handle: FileHandle;
  readonly temp: string;
  readonly narSize: number;
  readonly level: number;
  /** Larger than this, the entry is not kept. */
  readonly maxLength: number;
  /** Puts the finished temporary file in place. */
  readonly added: (length: number) => Promise<void>;
  /** Called once the writer is done, committed or not. */
  readonly released: () => void;
}

/** One entry being written; see CompressedNarCache.startWrite. */
export class CacheWriter {
  readonly #options: CacheWriterOptions;
  #length = 0;
  /** Set when the entry cannot be kept (a write failed, too large); the download goes on. */
  #failed = false;
  #settled = false;

  constructor(options: CacheWriterOptions) {
    this.#options = options;
  }

  /** A pass-through stream that also writes what goes through to the entry's file. */
  tee(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.#write(chunk).then(
          () => {
            callback(null, chunk);
          },
          (error: unknown) => {
            callback(error as Error);
          },
        );
      },
    });
  }

  /** Puts the entry in place; call once the whole NAR went through `tee()`. */
  async commit(): Promise<void> {
    if (this.#settled) return;
    if (this.#failed) {
      await this.abort();
      return;
    }
    this.#settled = true;
    const { handle, temp, narSize, level, added, released } = this.#options;
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      header.writeBigUInt64LE(BigInt(narSize), 8);
      header.writeBigUInt64LE(BigInt(this.#length), 16);
      header.writeUInt32LE(level, 24);
      await handle.write(header, 0, HEADER_BYTES, 0);
      // On disk before it has a name: after a crash, an entry is whole or absent.
      await handle.datasync();
      await handle.close();
      await added(this.#length);
    } catch {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    } finally {
      released();
    }
  }

  /** Drops the entry: the download failed or was cut. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const { handle, temp, released } = this.#options;
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    released();
  }

  async #write(chunk: Buffer): Promise<void> {
    if (this.#failed || this.#settled) return;
    if (this.#length + chunk.length > this.#options.maxLength) {
      this.#failed = true;
      return;
    }
    try {
      const { bytesWritten } = await this.#options.handle.write(
        chunk,
        0,
        chunk.length,
        HEADER_BYTES + this.#length,
      );
      this.#length += bytesWritten;
      // A short write (disk full) leaves a hole: the entry cannot be kept.
      if (bytesWritten !== chunk.length) this.#failed = true;
    } catch {
      this.#failed = true;
    }
  }
}

/**
 * An entry in chunks, read synchronously as the NAR walk reads files: the thread-pool round
 * trips of async reads cost more than the reads of a file that is almost always in the page
 * cache (a repeat download of the benchmark closure left the workers idle two thirds of the
 * time). Each chunk is handed over before the next is read. Owns `fd`: closes it when done or
 * stopped.
 */
function* readInChunks(fd: number, length: number): Generator<Buffer> {
  try {
    for (let position = 0; position < length;) {
      const chunk = takeChunk(Math.min(NAR_CHUNK_BYTES, length - position));
      let filled = 0;
      while (filled < chunk.length) {
        const count = readSync(fd, chunk, filled, chunk.length - filled, HEADER_BYTES + position);
        if (count === 0) throw new Error("compressed NAR shrank while read");
        filled += count;
        position += count;
      }
      yield chunk;
    }
  } finally {
    closeSync(fd);
  }
}
