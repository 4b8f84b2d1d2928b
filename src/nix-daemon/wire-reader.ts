// The worker protocol's wire format, reading side: numbers, padded strings and lists out of
// bytes that arrive in chunks of any size. The connection pushes what the socket delivers; an
// operation awaits the fields it expects, one read at a time (the protocol is a conversation:
// nothing is read out of turn). Pure: no socket here, so it is tested with plain bytes.

import { NixDaemonError } from "./errors.ts";

/** No string the daemon sends us (paths, messages, log lines) comes near this. */
export const MAX_STRING = 16 * 1024 * 1024;

interface PendingRead {
  readonly length: number;
  readonly resolve: (bytes: Buffer) => void;
  readonly reject: (error: Error) => void;
}

export class WireReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #pending: PendingRead | undefined;
  #failure: Error | undefined;

  /** Bytes from the daemon, in order. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#settle();
  }

  /** No more bytes will come: a read that cannot be satisfied fails with `error`. */
  fail(error: Error): void {
    this.#failure ??= error;
    this.#settle();
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The next `length` bytes. */
  bytes(length: number): Promise<Buffer> {
    if (this.#pending !== undefined) {
      return Promise.reject(new Error("WireReader: a read is already waiting"));
    }
    if (length <= this.#buffered) return Promise.resolve(this.#take(length));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending = { length, resolve, reject };
    });
  }

  async u64Big(): Promise<bigint> {
    return (await this.bytes(8)).readBigUInt64LE();
  }

  /** A u64 that a JavaScript number holds exactly (counts, sizes, times, codes). */
  async u64(): Promise<number> {
    const value = await this.u64Big();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new NixDaemonError("protocol", `the Nix daemon sent a number too large: ${value}`);
    }
    return Number(value);
  }

  async bool(): Promise<boolean> {
    return (await this.u64Big()) !== 0n;
  }

  /** A string's bytes, its padding read and checked. */
  async stringBytes(): Promise<Buffer> {
    const length = await this.u64();
    if (length > MAX_STRING) {
      throw new NixDaemonError("protocol", `the Nix daemon sent a string of ${length} bytes`);
    }
    const padded = length + ((8 - (length % 8)) % 8);
    const bytes = await this.bytes(padded);
    if (bytes.subarray(length).some((byte) => byte !== 0)) {
      throw new NixDaemonError("protocol", "the Nix daemon sent a string with non-zero padding");
    }
    return bytes.subarray(0, length);
  }

  async string(): Promise<string> {
    return (await this.stringBytes()).toString("utf8");
  }

  async strings(): Promise<string[]> {
    const count = await this.u64();
    const result: string[] = [];
    for (let i = 0; i < count; i++) result.push(await this.string());
    return result;
  }

  #settle(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    if (pending.length <= this.#buffered) {
      this.#pending = undefined;
      pending.resolve(this.#take(pending.length));
    } else if (this.#failure !== undefined) {
      this.#pending = undefined;
      pending.reject(this.#failure);
    }
  }

  #take(length: number): Buffer {
    this.#buffered -= length;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= length) {
      // The common case: the field lies within one chunk; no copy.
      if (first.length === length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    const result = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) throw new Error("WireReader: fewer bytes than counted");
      const used = Math.min(chunk.length, length - filled);
      chunk.copy(result, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return result;
  }
}
