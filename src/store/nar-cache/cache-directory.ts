// The directory of `[nar_cache]`: files named after a NAR's hash, kept until evicted (least
// recently used first, over `max_size`). It holds two kinds of entries, zstd-compressed NARs
// (compressed-nar-cache.ts) and NAR layouts (layout-cache.ts), under one size limit and one
// order of use. A store path never changes, so an entry is valid until it is evicted.
//
// Files are written under a unique temporary name and renamed into place only when complete,
// so several processes (workers, or two daemons) can share the directory: a reader sees a
// complete entry or none. Each kind checks its own entries when it opens them and discards
// damaged ones here.

import { randomUUID } from "node:crypto";
import { accessSync, closeSync, constants, fstatSync, futimesSync, mkdirSync } from "node:fs";
import { openSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { NarCacheConfig } from "../../config/config.ts";
import type { Logger } from "../../log.ts";
import { SyncBatch } from "./sync-batch.ts";

/** `<narhash32>.<level>.zst` (compressed NARs) and `<narhash32>.layout` (NAR layouts). */
const ENTRY_NAME = /^[0-9a-df-np-sv-z]{52}\.(\d+\.zst|layout)$/;
const TEMP_PREFIX = ".tmp-";
/** A temporary file older than this belongs to a process that died mid-write. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** An entry's mtime (its last use, for the order after a restart) is renewed this often. */
const TOUCH_INTERVAL_MS = 60_000;

/** An entry open for reading, as it was when opened. */
export interface OpenEntry {
  readonly fd: number;
  readonly size: number;
  readonly modifiedMs: number;
}

export class CacheDirectory {
  readonly path: string;
  readonly maxSize: number;
  readonly log: Logger;
  /** Where entries are put on disk before they are put in place. */
  readonly syncBatch: SyncBatch;
  /** File name → file size, least recently used first (a Map keeps insertion order). */
  readonly #entries = new Map<string, number>();
  /** Entries this process is writing now: a second download meanwhile does not write too. */
  readonly #writing = new Set<string>();
  #size = 0;

  /**
   * Opens the directory at `config.path`, creating it; undefined (with a warning) when it
   * cannot be used, so that storefront runs on without the cache.
   */
  static open(
    config: NarCacheConfig,
    log: Logger,
    syncBatch = new SyncBatch(),
  ): CacheDirectory | undefined {
    if (!config.enable) return undefined;
    try {
      mkdirSync(config.path, { recursive: true });
      accessSync(config.path, constants.R_OK | constants.W_OK);
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      log.warn("running without the NAR cache: cannot use its directory", {
        path: config.path,
        code,
        fix: "create it writable for storefront, or set nar_cache.path",
      });
      return undefined;
    }
    return new CacheDirectory(config.path, config.max_size, log, syncBatch);
  }

  private constructor(path: string, maxSize: number, log: Logger, syncBatch: SyncBatch) {
    this.path = path;
    this.maxSize = maxSize;
    this.log = log;
    this.syncBatch = syncBatch;
    this.#scan();
  }

  get entries(): number {
    return this.#entries.size;
  }

  /** Bytes on disk, as far as this process knows. */
  get size(): number {
    return this.#size;
  }

  /**
   * Opens entry `name` for reading, with its size and mtime: an open and an fstat of a file that
   * is almost always in the page cache. Undefined when it is not there (it is then forgotten).
   */
  openEntry(name: string): OpenEntry | undefined {
    let fd: number;
    try {
      fd = openSync(join(this.path, name), constants.O_RDONLY);
    } catch {
      this.#forget(name);
      return undefined;
    }
    try {
      const { size, mtimeMs } = fstatSync(fd);
      return { fd, size, modifiedMs: mtimeMs };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Records a hit on `name`, found sound: it becomes the most recently used. Its mtime is
   * renewed too, to the minute, so that a restart knows the order.
   */
  used(name: string, entry: OpenEntry): void {
    this.#touch(name, entry.size);
    if (Date.now() - entry.modifiedMs > TOUCH_INTERVAL_MS) {
      const now = new Date();
      futimesSync(entry.fd, now, now);
    }
  }

  /** Removes a damaged entry, so that it is made again. */
  discard(name: string, what: string): void {
    this.log.warn(`removing a damaged ${what}`, { path: join(this.path, name) });
    this.#forget(name);
    try {
      unlinkSync(join(this.path, name));
    } catch {
      // Removed by another process meanwhile.
    }
  }

  /**
   * Claims `name` for writing in this process: a temporary path to write it to, or undefined
   * when this process is writing it already. Call `release` once done, kept or not.
   */
  claim(name: string): string | undefined {
    if (this.#writing.has(name)) return undefined;
    this.#writing.add(name);
    return join(this.path, `${TEMP_PREFIX}${name}-${process.pid}-${randomUUID()}`);
  }

  release(name: string): void {
    this.#writing.delete(name);
  }

  /** Puts a complete temporary file in place as `name`, then evicts what no longer fits. */
  async putInPlace(temp: string, name: string, size: number): Promise<void> {
    await rename(temp, join(this.path, name));
    this.#touch(name, size);
    this.log.debug("NAR cache entry added", { name, bytes: size });
    // Another process may have removed a file already; a reader holding it open reads on.
    await Promise.all(
      this.#evict().map((victim) => unlink(join(this.path, victim)).catch(() => undefined)),
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
      if (this.#size <= this.maxSize) break;
      this.#entries.delete(name);
      this.#size -= size;
      victims.push(name);
      this.log.debug("NAR cache entry evicted", { name, bytes: size });
    }
    return victims;
  }

  /** Rebuilds the index from the directory, oldest access first; removes stale temp files. */
  #scan(): void {
    const found: { name: string; size: number; used: number }[] = [];
    for (const name of readdirSync(this.path)) {
      try {
        const stats = statSync(join(this.path, name));
        if (name.startsWith(TEMP_PREFIX)) {
          if (Date.now() - stats.mtimeMs > STALE_TEMP_MS) unlinkSync(join(this.path, name));
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
        unlinkSync(join(this.path, victim));
      } catch {
        // Gone already.
      }
    }
  }
}
