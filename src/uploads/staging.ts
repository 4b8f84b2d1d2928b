// The staging directory, <state_dir>/uploads: a NAR upload is received here, hashed as it
// arrives (FileHash/FileSize of the bytes sent), decoded (a compressed one from disk, a few at
// a time; NarHash/NarSize of the NAR it decodes to) and kept decoded, so that the narinfo PUT that follows hands the daemon a plain NAR. A staged NAR
// is `<filehash>.nar` with its hashes beside it in `<filehash>.json` (files, not memory, so that
// any worker of a cluster finds it); a receive that fails removes its partial file in its
// `finally`; a staged NAR whose narinfo never comes is swept after STAGED_LIFETIME_MS.

import { createHash, randomUUID } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { availableParallelism } from "node:os";
import { open, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { encodeNixBase32 } from "../core/nix/nix-base32.ts";
import type { NarHash32 } from "../core/nix/store-path.ts";
import { StorefrontError } from "../errors.ts";
import { UploadRefused } from "./refusal.ts";
import { decoderFor, type Compression } from "./compression.ts";
import { Limiter } from "./limit.ts";

/**
 * Bytes read at a time from a staged NAR for the daemon: a few frames per read and per wake-up,
 * and one such buffer per import in flight (at most the daemon client's connections).
 */
export const STAGED_READ_BYTES = 256 * 1024;

/** How long a staged NAR waits for its narinfo: Nix PUTs it right after the NAR. */
export const STAGED_LIFETIME_MS = 60 * 60 * 1000;

export interface StagedNar {
  /** The nix-base32 sha256 of the bytes uploaded, as in the URL. */
  readonly fileHash: string;
  readonly fileSize: number;
  readonly compression: Compression;
  /** `sha256:<nix32>` of the decoded NAR. */
  readonly narHash: string;
  readonly narSize: number;
}

/**
 * Bytes of upload chunks (received, then decoded) between two collections of the young
 * generation. Each chunk is a buffer of its own, garbage once written to disk, which V8 left
 * to pile up: a push's peak was ~40 MiB above its idle RSS, and is now within this.
 */
export const GARBAGE_BYTES_PER_COLLECTION = 16 * 1024 * 1024;

/** Counts and hashes what passes through; refuses more than `limit` bytes. */
class Measure extends Transform {
  readonly #hash = createHash("sha256");
  readonly #limit: number;
  readonly #passed: (bytes: number) => void;
  size = 0;

  constructor(limit: number, passed: (bytes: number) => void) {
    super();
    this.#limit = limit;
    this.#passed = passed;
  }

  override _transform(chunk: Buffer, _encoding: string, done: TransformCallback): void {
    this.size += chunk.length;
    this.#passed(chunk.length);
    if (this.size > this.#limit) {
      done(new UploadRefused("too_large", `upload over max_nar_size (${this.#limit})`));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  digest32(): string {
    return encodeNixBase32(this.#hash.digest());
  }
}

export interface ClaimedNar {
  readonly staged: StagedNar;
  /** The decoded NAR. */
  readonly narPath: string;
  release(): Promise<void>;
}

/**
 * A staged NAR's bytes for the daemon, read into one buffer that every chunk reuses: a chunk is
 * valid until the next is asked for, which sendData (nix-daemon/send-data.ts) does only once the
 * socket has taken the chunk. A fresh 64 KiB buffer a read (createReadStream) left every
 * imported byte as garbage, freed only when V8 collected (up to ~64 MiB of it).
 */
export async function* readStaged(narPath: string): AsyncGenerator<Buffer> {
  const handle = await open(narPath, "r");
  try {
    const buffer = Buffer.allocUnsafeSlow(STAGED_READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Decoders running at once: decoding is work for a core, so more than the cores gain nothing,
 * while each holds its window (25 zstd uploads at once: a peak of 199 MiB, see bench/README.md).
 */
export const DEFAULT_DECODERS = Math.min(4, availableParallelism());

export interface StagingOptions {
  /** Decoders running at once; DEFAULT_DECODERS unless given. */
  readonly decoders?: number;
  /** Collects the young generation: called after every GARBAGE_BYTES_PER_COLLECTION. */
  readonly collectYoung?: (() => void) | undefined;
}

export class Staging {
  readonly dir: string;
  readonly #decoders: Limiter;
  readonly #collectYoung: (() => void) | undefined;
  #garbage = 0;

  /** Makes the directory (private to storefront's user) and removes what a crash left there. */
  constructor(dir: string, options: StagingOptions = {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.dir = dir;
    this.#decoders = new Limiter(options.decoders ?? DEFAULT_DECODERS);
    this.#collectYoung = options.collectYoung;
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true, recursive: true });
  }

  /**
   * Receives `body` as the upload `fileHash`, compressed with `compression`. Throws (and leaves
   * nothing) when the body is cut off, too large, does not decode or does not hash to the URL.
   * Each upload is staged under a name of its own (`<filehash>.<id>.nar`): two paths with the
   * same contents upload the same file at once, and each narinfo PUT claims one of them.
   */
  async receive(
    body: Readable,
    fileHash: NarHash32,
    compression: Compression,
    maxSize: number,
  ): Promise<StagedNar> {
    const id = randomUUID();
    const partial = join(this.dir, `${id}.part`);
    // A compressed upload is received as it is, then decoded from disk.
    const received = join(this.dir, `${id}.part.compressed`);
    const file = new Measure(maxSize, this.#passed);
    const nar = compression === "none" ? file : new Measure(maxSize, this.#passed);
    const refused = (error: unknown): Error =>
      error instanceof StorefrontError
        ? error
        : new UploadRefused("cut_off", "NAR upload cut off or not decodable", { cause: error });
    try {
      try {
        await pipeline(body, file, createWriteStream(compression === "none" ? partial : received));
      } catch (error) {
        throw refused(error);
      }
      const fileDigest = file.digest32();
      if (fileDigest !== fileHash) {
        throw new UploadRefused("mismatch", "uploaded file does not hash to its URL");
      }
      if (compression !== "none") {
        // Decoders hold megabytes each (a zstd window, an xz process with its dictionary):
        // a few at a time, while the other uploads are received at full speed meanwhile and
        // wait only for their turn to decode, which takes a time bounded by their size, never
        // by a slow client.
        try {
          await this.#decoders.run(() =>
            pipeline(
              createReadStream(received),
              decoderFor(compression),
              nar,
              createWriteStream(partial),
            ),
          );
        } catch (error) {
          throw refused(error);
        }
      }
      const staged: StagedNar = {
        fileHash,
        fileSize: file.size,
        compression,
        narHash: `sha256:${nar === file ? fileDigest : nar.digest32()}`,
        narSize: nar.size,
      };
      // The NAR first, then what says it is complete: whoever finds the .json finds both.
      await rename(partial, join(this.dir, `${fileHash}.${id}.nar`));
      await writeFile(`${partial}.json`, JSON.stringify(staged));
      await rename(`${partial}.json`, join(this.dir, `${fileHash}.${id}.json`));
      return staged;
    } finally {
      await rm(received, { force: true });
      await rm(partial, { force: true });
      await rm(`${partial}.json`, { force: true });
    }
  }

  /** Counts the bytes of chunks that became garbage, and has them collected now and then. */
  readonly #passed = (bytes: number): void => {
    this.#garbage += bytes;
    if (this.#garbage < GARBAGE_BYTES_PER_COLLECTION) return;
    this.#garbage = 0;
    this.#collectYoung?.();
  };

  /**
   * Takes a staged upload of `fileHash` for the caller alone (renaming is atomic, so two
   * narinfo PUTs never take the same one), or undefined when there is none. The caller reads
   * `narPath` and calls `release` in its `finally`.
   */
  async claim(fileHash: string): Promise<ClaimedNar | undefined> {
    for (const name of await readdir(this.dir)) {
      if (!(name.startsWith(`${fileHash}.`) && name.endsWith(".json"))) continue;
      const id = name.slice(fileHash.length + 1, -".json".length);
      const claimed = join(this.dir, `${id}.claimed.json`);
      try {
        await rename(join(this.dir, name), claimed);
      } catch {
        continue;
      }
      const narPath = join(this.dir, `${fileHash}.${id}.nar`);
      const release = async (): Promise<void> => {
        await rm(claimed, { force: true });
        await rm(narPath, { force: true });
      };
      try {
        return {
          staged: JSON.parse(await readFile(claimed, "utf8")) as StagedNar,
          narPath,
          release,
        };
      } catch (error) {
        await release();
        throw error;
      }
    }
    return undefined;
  }

  /** Removes staged NARs older than `lifetimeMs` whose narinfo never came. */
  sweep(now: number, lifetimeMs = STAGED_LIFETIME_MS): void {
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat !== undefined && now - stat.mtimeMs > lifetimeMs) rmSync(path, { force: true });
    }
  }
}
