// One entry of the NAR cache being written, whatever its kind (a compressed NAR, a layout):
// under a temporary name claimed in the directory (cache-directory.ts), put in place whole or
// not at all, and released either way.
//
// Its bytes are written synchronously as the download goes: a write to the page cache is a
// copy that costs less than the thread-pool round trip of an async one, and async writes could
// not keep up with a walk of small files (they piled up by the megabyte). Writing never fails a
// download: an entry that cannot be written (disk full, larger than the cache) is dropped, and
// the download goes on.

import { close, openSync, unlink, write, writeSync } from "node:fs";
import { promisify } from "node:util";
import type { CacheDirectory } from "./cache-directory.ts";

const writeAt = promisify(write);
const closeFd = promisify(close);
const unlinkFile = promisify(unlink);

export class TempEntry {
  readonly #directory: CacheDirectory;
  readonly #name: string;
  readonly #temp: string;
  readonly #fd: number;
  /** Bytes at the file's start (a header) that do not count against the cache's size. */
  readonly #reserved: number;
  /** Set when the entry cannot be kept; the download goes on. */
  #failed = false;
  #settled = false;

  /**
   * Starts entry `name`: undefined when this process is writing it already, or when its
   * temporary file cannot be made (a warning then says what the `cache` is).
   */
  static start(
    directory: CacheDirectory,
    name: string,
    cache: string,
    reserved = 0,
  ): TempEntry | undefined {
    const temp = directory.claim(name);
    if (temp === undefined) return undefined;
    try {
      return new TempEntry(directory, name, temp, openSync(temp, "wx"), reserved);
    } catch (error) {
      directory.release(name);
      directory.log.warn(`cannot add to the ${cache}`, { detail: String(error) });
      return undefined;
    }
  }

  private constructor(
    directory: CacheDirectory,
    name: string,
    temp: string,
    fd: number,
    reserved: number,
  ) {
    this.#directory = directory;
    this.#name = name;
    this.#temp = temp;
    this.#fd = fd;
    this.#reserved = reserved;
  }

  /**
   * Writes bytes `from` up to `to` of `chunk` at `position` in the file. False, and the entry
   * is dropped, when the entry would grow larger than the cache or the write fails.
   */
  write(chunk: Buffer, from: number, to: number, position: number): boolean {
    if (this.#failed || this.#settled) return false;
    if (position - this.#reserved + (to - from) > this.#directory.maxSize) {
      this.#failed = true;
      return false;
    }
    try {
      for (let offset = from; offset < to;) {
        const written = writeSync(this.#fd, chunk, offset, to - offset, position + offset - from);
        if (written === 0) throw new Error("nothing written");
        offset += written;
      }
      return true;
    } catch {
      this.#failed = true;
      return false;
    }
  }

  /**
   * Writes `last` (a header, a trailer) at `position`, then puts the entry, `size` bytes, in
   * place. An entry that could not be written whole is dropped instead.
   */
  async commit(last: Buffer, position: number, size: number): Promise<void> {
    if (this.#settled) return;
    if (this.#failed) {
      await this.abort();
      return;
    }
    this.#settled = true;
    const fd = this.#fd;
    try {
      const { bytesWritten } = await writeAt(fd, last, 0, last.length, position);
      if (bytesWritten !== last.length) throw new Error("short write");
      // On disk before it has a name: after a crash, an entry is whole or absent.
      await this.#directory.syncBatch.synced(fd);
      await closeFd(fd);
      await this.#directory.putInPlace(this.#temp, this.#name, size);
    } catch {
      await closeFd(fd).catch(() => undefined);
      await unlinkFile(this.#temp).catch(() => undefined);
    } finally {
      this.#directory.release(this.#name);
    }
  }

  /** Drops the entry: the download failed or was cut. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await closeFd(this.#fd).catch(() => undefined);
    await unlinkFile(this.#temp).catch(() => undefined);
    this.#directory.release(this.#name);
  }
}
