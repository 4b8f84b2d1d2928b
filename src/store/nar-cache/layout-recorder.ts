// Records a NAR's layout (core/nar-layout.ts) from a walk as it streams: the walk tells of each
// large file before its contents come, and every chunk passes through `take`, which writes the
// bytes outside the large files to the entry's temporary file; the table and footer go last,
// once the walk has proved the NAR whole.
//
// The entry is written as the walk reads (temp-entry.ts). Recording never fails a download:
// an entry that cannot be written (disk full, larger than the cache) is dropped, and the
// download goes on.

import { encodeLayoutTrailer, type LayoutSpan } from "../../core/nix/nar-layout.ts";
import type { TempEntry } from "./temp-entry.ts";

export class LayoutRecorder {
  readonly #entry: TempEntry;
  readonly #narSize: number;
  readonly #spans: LayoutSpan[] = [];
  /** The next span `take` may meet. */
  #nextSpan = 0;
  /** NAR bytes taken so far. */
  #narPosition = 0;
  /** Inline bytes written so far. */
  #inlineBytes = 0;
  /** Set when the entry cannot be kept, or is settled: nothing more is written. */
  #done = false;

  constructor(entry: TempEntry, narSize: number) {
    this.#entry = entry;
    this.#narSize = narSize;
  }

  /** For the walk: a large file, told before its contents come. */
  readonly onLargeFile = (span: LayoutSpan): void => {
    this.#spans.push(span);
  };

  /** The NAR's next chunk: writes what lies outside the large files. */
  take(chunk: Buffer): void {
    if (!this.#done) this.#keepInline(chunk);
    this.#narPosition += chunk.length;
  }

  /** Puts the entry in place; call once the walk yielded the whole NAR. */
  async commit(): Promise<void> {
    if (this.#done || this.#narPosition !== this.#narSize) {
      await this.abort();
      return;
    }
    this.#done = true;
    const inlineBytes = this.#inlineBytes;
    const trailer = encodeLayoutTrailer({
      narSize: this.#narSize,
      inlineBytes,
      spans: this.#spans,
    });
    await this.#entry.commit(trailer, inlineBytes, inlineBytes + trailer.length);
  }

  /** Drops the entry: the walk failed or was stopped. */
  async abort(): Promise<void> {
    this.#done = true;
    await this.#entry.abort();
  }

  #keepInline(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#done) {
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
    if (this.#entry.write(chunk, from, to, this.#inlineBytes)) this.#inlineBytes += to - from;
    else this.#done = true;
  }
}
