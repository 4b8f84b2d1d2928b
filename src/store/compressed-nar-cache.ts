// zstd-compressed NARs kept on disk, keyed by NarHash, so that a repeat download is a static
// file read: no tree walk, no compression, and a Content-Length. A store path never changes, so
// an entry is valid until it is evicted (least recently used first, over `max_size`).
//
// Each file is a 32-byte header and the compressed NAR. The header carries the NAR's size and
// the compressed length; an entry whose header or file size disagrees (a torn write, a disk
// error) is removed and never served. Files are written under a unique temporary name and
// renamed into place only once the whole NAR went through, so several processes (workers, or
// two daemons) can share the directory: a reader sees a complete entry or none.

import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Transform } from "node:stream";
import { NAR_CHUNK_BYTES, takeChunk } from "./nar-chunks.ts";
import type { NarCacheConfig } from "../config.ts";
import type { Logger } from "../log.ts";

const MAGIC = Buffer.from("SFNARZ01");
/** magic (8), NAR size (u64), compressed length (u64), zstd level (u32), unused (4). */
export const HEADER_BYTES = 32;

/** `<narhash32>.<level>.zst`: a level change makes new entries beside the old, which age out. */
const ENTRY_NAME = /^[0-9a-df-np-sv-z]{52}\.\d+\.zst$/;
const TEMP_PREFIX = ".tmp-";
/** A temporary file older than this belongs to a process that died mid-write. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** A cached file's mtime (its last use, for the order after a restart) is renewed this often. */
const TOUCH_INTERVAL_MS = 60_000;

export interface CachedNar {
  /**
   * The compressed NAR, in chunks (from the NAR chunk pool: `releaseChunk` each once written).
   * Iterate it to the end or stop it with `return()`: that closes the file.
   */
  readonly body: Iterable<Buffer>;
  readonly length: number;
}

export class CompressedNarCache {
  readonly #dir: string;
  readonly #maxSize: number;
  readonly #level: number;
  readonly #log: Logger;
  /** File name → file size, least recently used first (a Map keeps insertion order). */
  readonly #entries = new Map<string, number>();
  /** NARs this process is compressing into the cache now; a second download meanwhile only
   * compresses, rather than writing the same entry twice. */
  readonly #writing = new Set<string>();
  #size = 0;
  #hits = 0;
  #misses = 0;
  #bytesServed = 0;
  #bytesWritten = 0;

  /**
   * Opens the cache at `config.path`, creating the directory; undefined (with a warning) when
   * it cannot be used, so that storefront runs on without it.
   */
  static open(config: NarCacheConfig, level: number, log: Logger): CompressedNarCache | undefined {
    if (!config.enable) return undefined;
    try {
      mkdirSync(config.path, { recursive: true });
      accessSync(config.path, constants.R_OK | constants.W_OK);
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      log.warn("running without the compressed NAR cache: cannot use its directory", {
        path: config.path,
        code,
        fix: "create it writable for storefront, or set nar_cache.path",
      });
      return undefined;
    }
    return new CompressedNarCache(config.path, config.max_size, level, log);
  }

  private constructor(dir: string, maxSize: number, level: number, log: Logger) {
    this.#dir = dir;
    this.#maxSize = maxSize;
    this.#level = level;
    this.#log = log;
    this.#scan();
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
  get entries(): number {
    return this.#entries.size;
  }
  /** Bytes on disk, as far as this process knows. */
  get size(): number {
    return this.#size;
  }

  /**
   * The cached compressed NAR for `narHash32` (of `narSize` bytes), if a sound one exists.
   * Synchronous: an open, a 32-byte read and an fstat of a file that is almost always in the
   * page cache.
   */
  open(narHash32: string, narSize: number): CachedNar | undefined {
    const name = this.#entryName(narHash32);
    const path = join(this.#dir, name);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      this.#misses += 1;
      this.#forget(name);
      return undefined;
    }
    let body: CachedNar["body"] | undefined;
    try {
      const checked = this.#check(fd, narSize);
      if (checked === undefined) {
        this.#log.warn("removing a damaged compressed NAR", { path });
        this.#forget(name);
        try {
          unlinkSync(path);
        } catch {
          // Removed by another process meanwhile.
        }
        this.#misses += 1;
        return undefined;
      }
      const { length, modified } = checked;
      this.#touch(name, HEADER_BYTES + length);
      // Kept on disk too, so that a restart (see #scan) knows what was used last; to the
      // minute is enough, and spares a metadata write per download.
      if (Date.now() - modified > TOUCH_INTERVAL_MS) {
        const now = new Date();
        futimesSync(fd, now, now);
      }
      this.#hits += 1;
      this.#bytesServed += length;
      // The reader owns the file from here: it closes it when done or stopped.
      body = readInChunks(fd, length);
      return { body, length };
    } finally {
      if (body === undefined) closeSync(fd);
    }
  }

  /**
   * Starts a new entry for `narHash32`: pass the compressed NAR through `tee()`, then `commit()`
   * once the NAR went through whole, or `abort()`. Undefined when the file cannot be made, or
   * when this process is writing that entry already.
   */
  async startWrite(narHash32: string, narSize: number): Promise<CacheWriter | undefined> {
    if (this.#writing.has(narHash32)) return undefined;
    this.#writing.add(narHash32);
    const temp = join(this.#dir, `${TEMP_PREFIX}${narHash32}-${process.pid}-${randomUUID()}`);
    try {
      return new CacheWriter({
        handle: await open(temp, "wx"),
        temp,
        narSize,
        level: this.#level,
        maxLength: this.#maxSize,
        added: (length) => this.#added(this.#entryName(narHash32), temp, length),
        released: () => this.#writing.delete(narHash32),
      });
    } catch (error) {
      this.#writing.delete(narHash32);
      this.#log.warn("cannot add to the compressed NAR cache", { detail: String(error) });
      return undefined;
    }
  }

  #entryName(narHash32: string): string {
    return `${narHash32}.${this.#level}.zst`;
  }

  /** The compressed length, when the header is ours and the file has exactly its size. */
  #check(fd: number, narSize: number): { length: number; modified: number } | undefined {
    const header = Buffer.alloc(HEADER_BYTES);
    const bytesRead = readSync(fd, header, 0, HEADER_BYTES, 0);
    if (bytesRead !== HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC)) return undefined;
    const storedNarSize = Number(header.readBigUInt64LE(8));
    const length = Number(header.readBigUInt64LE(16));
    const { size, mtimeMs } = fstatSync(fd);
    if (storedNarSize !== narSize || size !== HEADER_BYTES + length) return undefined;
    return { length, modified: mtimeMs };
  }

  async #added(name: string, temp: string, length: number): Promise<void> {
    await rename(temp, join(this.#dir, name));
    this.#bytesWritten += length;
    this.#touch(name, HEADER_BYTES + length);
    this.#log.debug("compressed NAR cached", { name, bytes: length });
    // Another process may have removed a file already; a reader holding it open reads on.
    await Promise.all(
      this.#evict().map((victim) => unlink(join(this.#dir, victim)).catch(() => undefined)),
    );
  }

  /** Marks `name` as the most recently used. */
  #touch(name: string, size: number): void {
    this.#forget(name);
    this.#entries.set(name, size);
    this.#size += size;
  }

  #forget(name: string): void {
    const size = this.#entries.get(name);
    if (size === undefined) return;
    this.#entries.delete(name);
    this.#size -= size;
  }

  /** Drops the least recently used entries from the index until under max_size; their names. */
  #evict(): string[] {
    const victims: string[] = [];
    for (const [name, size] of this.#entries) {
      if (this.#size <= this.#maxSize) break;
      this.#entries.delete(name);
      this.#size -= size;
      victims.push(name);
      this.#log.debug("compressed NAR evicted", { name, bytes: size });
    }
    return victims;
  }

  /** Rebuilds the index from the directory, oldest access first; removes stale temp files. */
  #scan(): void {
    const found: { name: string; size: number; used: number }[] = [];
    for (const name of readdirSync(this.#dir)) {
      try {
        const stats = statSync(join(this.#dir, name));
        if (name.startsWith(TEMP_PREFIX)) {
          if (Date.now() - stats.mtimeMs > STALE_TEMP_MS) unlinkSync(join(this.#dir, name));
        } else if (ENTRY_NAME.test(name) && stats.isFile()) {
          found.push({ name, size: stats.size, used: Math.max(stats.atimeMs, stats.mtimeMs) });
        }
      } catch {
        // Removed by another process meanwhile: nothing to index.
      }
    }
    found.sort((a, b) => a.used - b.used);
    for (const { name, size } of found) this.#touch(name, size);
    for (const victim of this.#evict()) {
      try {
        unlinkSync(join(this.#dir, victim));
      } catch {
        // Gone already.
      }
    }
  }
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
