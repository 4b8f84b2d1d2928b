// Collects a NAR into chunks of a fixed size, and holds the NAR to the size the database
// promised: a NAR that comes out longer or shorter fails before its last byte is released, so
// a client never receives a complete response with the wrong bytes.
//
// It can also keep only a window of the NAR (a Range request): bytes before the window are
// counted but not copied, file contents outside it are never read (see `window`), and the
// serialiser stops once the window is full (`done`).

import { StorefrontError } from "../../errors.ts";

/**
 * Large enough that a big file costs few reads and few socket writes, small enough that a
 * hundred concurrent downloads stay far below the memory goal.
 */
export const NAR_CHUNK_BYTES = 512 * 1024;

/** Bytes `start` up to, not including, `end` of the NAR. */
export interface NarWindow {
  readonly start: number;
  readonly end: number;
}

/** Chunks at least this large come from the pool; smaller ones are not worth keeping. */
const POOLED_MIN_BYTES = 64 * 1024;
/** Free chunks kept for reuse: enough for a few dozen downloads in flight (16 MiB). */
const POOL_MAX_CHUNKS = 32;
const free: Buffer[] = [];
const pooled = new WeakSet<ArrayBufferLike>();
const isFree = new WeakSet<ArrayBufferLike>();

// Each chunk is a fresh 512 KiB allocation otherwise: at a GB/s that is thousands a second,
// which the garbage collector frees late (profiles: 8-12 % of the time in GC, and a peak RSS
// of 225 MiB for 16 downloads). Chunks come back once the socket has written them.
/** A buffer of `size` bytes (at most NAR_CHUNK_BYTES), from the pool when it is large. */
export function takeChunk(size: number): Buffer {
  if (size < POOLED_MIN_BYTES) return Buffer.allocUnsafe(size);
  let buffer = free.pop();
  if (buffer === undefined) {
    buffer = Buffer.allocUnsafeSlow(NAR_CHUNK_BYTES);
    pooled.add(buffer.buffer);
  } else {
    isFree.delete(buffer.buffer);
  }
  return size === NAR_CHUNK_BYTES ? buffer : buffer.subarray(0, size);
}

/**
 * Returns a chunk to the pool. Call it only when nothing will read the chunk again (a socket
 * write's callback); a chunk that is never returned is simply garbage-collected.
 */
export function releaseChunk(chunk: Buffer): void {
  const memory = chunk.buffer;
  if (!pooled.has(memory) || isFree.has(memory) || free.length >= POOL_MAX_CHUNKS) return;
  isFree.add(memory);
  free.push(Buffer.from(memory, 0, NAR_CHUNK_BYTES));
}

export class NarChunks {
  readonly #narSize: number;
  readonly #window: NarWindow;
  /** Bytes of the window: what the chunks add up to. */
  readonly #total: number;
  /** Position in the NAR of the next byte serialised, kept or not. */
  #offset = 0;
  /** Bytes in all buffers allocated so far, full or not. */
  #allocated = 0;
  #buffer: Buffer;
  #position = 0;
  #ready: Buffer[] = [];
  #last: Buffer | undefined;

  constructor(narSize: number, window: NarWindow = { start: 0, end: narSize }) {
    if (!(0 <= window.start && window.start < window.end && window.end <= narSize)) {
      throw new RangeError(`bad NAR window ${window.start}-${window.end} of ${narSize}`);
    }
    this.#narSize = narSize;
    this.#window = window;
    this.#total = window.end - window.start;
    this.#buffer = this.#allocate();
  }

  /**
   * True once a window that ends before the NAR does is full: nothing more is needed. A window
   * reaching the end is never done early, so that a NAR longer than promised still fails.
   */
  get done(): boolean {
    return this.#window.end < this.#narSize && this.#offset >= this.#window.end;
  }

  /** Position in the NAR of the next byte serialised, kept or not. */
  get offset(): number {
    return this.#offset;
  }

  /** True when the window is the whole NAR: every file's contents will be read. */
  get whole(): boolean {
    return this.#total === this.#narSize;
  }

  /** Appends bytes (framing, names, small contents); keeps the part inside the window. */
  put(bytes: Buffer): void {
    const { from, to } = this.window(bytes.length);
    this.skip(from);
    let offset = from;
    while (offset < to) {
      const count = Math.min(this.#space(), to - offset);
      bytes.copy(this.#buffer, this.#position, offset, offset + count);
      offset += count;
      this.commit(count);
    }
    this.skip(bytes.length - to);
  }

  /**
   * Which of the next `length` bytes fall inside the window, as offsets into them: a file's
   * contents are read from `from` to `to` only, and the rest is passed over with `skip`.
   */
  window(length: number): { from: number; to: number } {
    const clamp = (n: number): number => Math.min(Math.max(n, 0), length);
    return {
      from: clamp(this.#window.start - this.#offset),
      to: clamp(this.#window.end - this.#offset),
    };
  }

  /** Counts `length` bytes of the NAR that lie outside the window, without their contents. */
  skip(length: number): void {
    if (length === 0) return;
    if (this.#offset + length > this.#narSize) {
      throw new StorefrontError("store_changed", "NAR is longer than its NarSize");
    }
    this.#offset += length;
  }

  /** The free part of the current chunk, for reading file contents straight into it. */
  reserve(): { buffer: Buffer; offset: number; length: number } {
    return { buffer: this.#buffer, offset: this.#position, length: this.#space() };
  }

  /** Marks `count` bytes of the reserved space as written. */
  commit(count: number): void {
    this.#position += count;
    this.#offset += count;
    if (this.#position < this.#buffer.length) return;
    if (this.#allocated === this.#total) {
      this.#last = this.#buffer;
    } else {
      this.#ready.push(this.#buffer);
      this.#buffer = this.#allocate();
    }
    this.#position = 0;
  }

  /** Whether a chunk is complete and waiting to be sent. */
  hasReady(): boolean {
    return this.#ready.length > 0;
  }

  /** Chunks that are complete and may be sent. */
  *drain(): Generator<Buffer> {
    const ready = this.#ready;
    this.#ready = [];
    yield* ready;
  }

  /** The last chunk, once the window (the NAR) is known to have exactly the promised size. */
  finish(): Buffer {
    if (this.#last === undefined) {
      throw new StorefrontError("store_changed", "NAR is shorter than its NarSize");
    }
    return this.#last;
  }

  #space(): number {
    if (this.#last !== undefined) {
      throw new StorefrontError("store_changed", "NAR is longer than its NarSize");
    }
    return this.#buffer.length - this.#position;
  }

  #allocate(): Buffer {
    const size = Math.min(NAR_CHUNK_BYTES, this.#total - this.#allocated);
    if (size <= 0) throw new StorefrontError("store_changed", "NAR is longer than its NarSize");
    this.#allocated += size;
    // Every byte is written before the chunk is sent, so there is nothing to zero.
    return takeChunk(size);
  }
}
