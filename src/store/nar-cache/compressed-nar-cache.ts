// zstd-compressed NARs kept in the NAR cache directory (cache-directory.ts), keyed by NarHash,
// so that a repeat download is a static file read: no tree walk, no compression, and a
// Content-Length.
//
// Each file is a 32-byte header and the compressed NAR. The header carries the NAR's size and
// the compressed length; an entry whose header or file size disagrees (a torn write, a disk
// error) is removed and never served.

import { closeSync, readSync } from "node:fs";
import { Transform } from "node:stream";
import { NAR_CHUNK_BYTES, takeChunk } from "../nar/chunks.ts";
import type { CacheDirectory, OpenEntry } from "./cache-directory.ts";
import { TempEntry } from "./temp-entry.ts";

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
  startWrite(narHash32: string, narSize: number): Promise<CacheWriter | undefined> {
    const name = this.#entryName(narHash32);
    const entry = TempEntry.start(this.#directory, name, "compressed NAR cache", HEADER_BYTES);
    // A promise still, though the file is now made synchronously, as a layout's is: the
    // callers (and the tests) await it.
    return Promise.resolve(entry && new CacheWriter(entry, narSize, this.#level));
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

/** One entry being written; see CompressedNarCache.startWrite. */
export class CacheWriter {
  readonly #entry: TempEntry;
  readonly #narSize: number;
  readonly #level: number;
  /** Compressed bytes written so far. */
  #length = 0;

  constructor(entry: TempEntry, narSize: number, level: number) {
    this.#entry = entry;
    this.#narSize = narSize;
    this.#level = level;
  }

  /** A pass-through stream that also writes what goes through to the entry's file. */
  tee(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        if (this.#entry.write(chunk, 0, chunk.length, HEADER_BYTES + this.#length)) {
          this.#length += chunk.length;
        }
        callback(null, chunk);
      },
    });
  }

  /** Puts the entry in place; call once the whole NAR went through `tee()`. */
  commit(): Promise<void> {
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeBigUInt64LE(BigInt(this.#narSize), 8);
    header.writeBigUInt64LE(BigInt(this.#length), 16);
    header.writeUInt32LE(this.#level, 24);
    return this.#entry.commit(header, 0, HEADER_BYTES + this.#length);
  }

  /** Drops the entry: the download failed or was cut. */
  abort(): Promise<void> {
    return this.#entry.abort();
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
