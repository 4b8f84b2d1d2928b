// Records a NAR's layout (core/nar-layout.ts) from a walk as it streams: the walk tells of each
// large file before its contents come, and every chunk passes through `take`, which writes the
// bytes outside the large files to the entry's temporary file; the table and footer go last,
// once the walk has proved the NAR whole.
//
// The inline bytes are written synchronously, as the walk reads: a write to the page cache is
// a copy that costs less than the thread-pool round trip of an async one, and async writes
// could not keep up with a walk of small files (they piled up by the megabyte). Recording
// never fails a download: an entry that cannot be written (disk full, larger than the cache)
// is dropped, and the download goes on.

import { close, fdatasync, unlink, write, writeSync } from "node:fs";
import { promisify } from "node:util";
import { encodeLayoutTrailer, type LayoutSpan } from "../core/nix/nar-layout.ts";

const writeAt = promisify(write);
const datasync = promisify(fdatasync);
const closeFd = promisify(close);
const unlinkFile = promisify(unlink);

export interface LayoutRecorderOptions {
  /** The temporary file, open for writing; the recorder closes it. */
  readonly fd: number;
  readonly temp: string;
  readonly narSize: number;
  /** Larger than this, the entry is not kept. */
  readonly maxBytes: number;
  /** Puts the finished temporary file (of `size` bytes) in place. */
  readonly putInPlace: (size: number) => Promise<void>;
  /** Called once the recorder is done, committed or not. */
  readonly released: () => void;
}

export class LayoutRecorder {
  readonly #options: LayoutRecorderOptions;
  readonly #spans: LayoutSpan[] = [];
  /** The next span `take` may meet. */
  #nextSpan = 0;
  /** NAR bytes taken so far. */
  #narPosition = 0;
  /** Inline bytes written so far. */
  #inlineBytes = 0;
  /** Set when the entry cannot be kept; the download goes on. */
  #failed = false;
  #settled = false;

  constructor(options: LayoutRecorderOptions) {
    this.#options = options;
  }

  /** For the walk: a large file, told before its contents come. */
  readonly onLargeFile = (span: LayoutSpan): void => {
    this.#spans.push(span);
  };

  /** The NAR's next chunk: writes what lies outside the large files. */
  take(chunk: Buffer): void {
    if (!this.#failed && !this.#settled) this.#keepInline(chunk);
    this.#narPosition += chunk.length;
  }

  /** Puts the entry in place; call once the walk yielded the whole NAR. */
  async commit(): Promise<void> {
    if (this.#settled) return;
    if (this.#failed || this.#narPosition !== this.#options.narSize) {
      await this.abort();
      return;
    }
    this.#settled = true;
    const { fd, temp, narSize, putInPlace, released } = this.#options;
    try {
      const inlineBytes = this.#inlineBytes;
      const trailer = encodeLayoutTrailer({ narSize, inlineBytes, spans: this.#spans });
      const { bytesWritten } = await writeAt(fd, trailer, 0, trailer.length, inlineBytes);
      if (bytesWritten !== trailer.length) throw new Error("short write");
      // On disk before it has a name: after a crash, an entry is whole or absent.
      await datasync(fd);
      await closeFd(fd);
      await putInPlace(inlineBytes + trailer.length);
    } catch {
      await closeFd(fd).catch(() => undefined);
      await unlinkFile(temp).catch(() => undefined);
    } finally {
      released();
    }
  }

  /** Drops the entry: the walk failed or was stopped. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const { fd, temp, released } = this.#options;
    await closeFd(fd).catch(() => undefined);
    await unlinkFile(temp).catch(() => undefined);
    released();
  }

  #keepInline(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#failed) {
      const span = this.#spans[this.#nextSpan];
      const spanStart = span === undefined ? Infinity : span.narOffset - this.#narPosition;
      if (offset < spanStart) {
        const end = Math.min(chunk.length, spanStart);
        this.#write(chunk, offset, end);
        offset = end;
        continue;
      }
      // Inside a span (the walk told of it before its bytes): its contents stay in the store.
      const spanEnd = spanStart + (span?.length ?? 0);
      if (spanEnd <= chunk.length) this.#nextSpan += 1;
      offset = Math.max(offset, Math.min(spanEnd, chunk.length));
    }
  }

  #write(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    if (this.#inlineBytes + length > this.#options.maxBytes) {
      this.#failed = true;
      return;
    }
    try {
      for (let offset = from; offset < to;) {
        const written = writeSync(this.#options.fd, chunk, offset, to - offset, this.#inlineBytes);
        if (written === 0) throw new Error("nothing written");
        offset += written;
        this.#inlineBytes += written;
      }
    } catch {
      this.#failed = true;
    }
  }
}
