// Records a NAR's layout (core/nar-layout.ts) from a walk as it streams: the walk tells of each
// large file before its contents come, and every chunk passes through `take`, which writes the
// bytes outside the large files to the entry's temporary file and has the chunk hashed on the
// hash thread; the table and footer go last, once the walk has proved the NAR whole and its
// bytes proved to be the NarHash's.
//
// The entry is written as the walk reads (temp-entry.ts). Recording never fails a download:
// an entry that cannot be written (disk full, larger than the cache) is dropped, and the
// download goes on.

import { encodeLayoutTrailer, type LayoutSpan } from "../../core/nix/nar-layout.ts";
import { encodeNixBase32 } from "../../core/nix/nix-base32.ts";
import type { Logger } from "../../log.ts";
import type { NarHashing } from "./hash-thread.ts";
import type { TempEntry } from "./temp-entry.ts";

/** What a layout is recorded for. */
export interface RecordedNar {
  readonly narHash32: string;
  readonly narSize: number;
}

export class LayoutRecorder {
  readonly #entry: TempEntry;
  readonly #nar: RecordedNar;
  readonly #hashing: NarHashing;
  readonly #log: Logger;
  readonly #spans: LayoutSpan[] = [];
  /** The next span `take` may meet. */
  #nextSpan = 0;
  /** NAR bytes taken so far. */
  #narPosition = 0;
  /** Inline bytes written so far. */
  #inlineBytes = 0;
  /** Set when the entry cannot be kept, or is settled: nothing more is written. */
  #done = false;

  constructor(entry: TempEntry, nar: RecordedNar, hashing: NarHashing, log: Logger) {
    this.#entry = entry;
    this.#nar = nar;
    this.#hashing = hashing;
    this.#log = log;
  }

  /** For the walk: a large file, told before its contents come. */
  readonly onLargeFile = (span: LayoutSpan): void => {
    this.#spans.push(span);
  };

  /** The NAR's next chunk: writes what lies outside the large files. */
  take(chunk: Buffer): void {
    if (!this.#done) this.#keepInline(chunk);
    if (!this.#done && !this.#hashing.update(chunk)) this.#done = true;
    this.#narPosition += chunk.length;
  }

  /**
   * Puts the entry in place once its bytes hashed to the NarHash; call once the walk yielded
   * the whole NAR.
   */
  async commit(): Promise<void> {
    const { narHash32, narSize } = this.#nar;
    if (this.#done || this.#narPosition !== narSize) {
      await this.abort();
      return;
    }
    this.#done = true;
    const digest = await this.#hashing.digest();
    if (digest === undefined || encodeNixBase32(digest) !== narHash32) {
      if (digest !== undefined) {
        this.#log.warn("a store path's NAR is not its NarHash: its layout is not kept", {
          narHash: narHash32,
          hint: "nix-store --verify --check-contents finds the damaged path",
        });
      }
      await this.#entry.abort();
      return;
    }
    const inlineBytes = this.#inlineBytes;
    const trailer = encodeLayoutTrailer({ narSize, inlineBytes, spans: this.#spans });
    await this.#entry.commit(trailer, inlineBytes, inlineBytes + trailer.length);
  }

  /** Drops the entry: the walk failed or was stopped. */
  async abort(): Promise<void> {
    this.#done = true;
    this.#hashing.cancel();
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
