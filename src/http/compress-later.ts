// zstd NARs that the compressed cache does not hold yet are answered as they are, and
// compressed here, off the request path, for the next client. Compressing as the NAR goes out
// ran at ~130 MB/s on one core, where the plain first download runs at ~700 MB/s: on a fast
// link a client got its NAR 2.7 times later compressed than plain, and every modern Nix asks
// for zstd. One entry is made at a time, on zlib's thread pool, so that the other core is left
// to serve; each one reads the NAR again (from the layout its plain download just recorded,
// still in the page cache) and is committed only when that read completed and was checked, as
// any entry is (whole-nar.ts, compressed-nar-cache.ts).

import type { ValidPathOnDisk } from "../store/nar/valid-path.ts";
import { narHashDigest } from "../core/nix/path-info.ts";
import { wholeNarBody, type NarSources } from "../store/nar-body.ts";
import type { CompressedNarCache } from "../store/nar-cache/compressed-nar-cache.ts";
import { encodeForTee, type CompressionSettings } from "./compression.ts";

/**
 * NARs waiting to be compressed, at most. Past it a miss is not queued: the next download of
 * that NAR asks again. Each waiting one holds only its path's record.
 */
const MAX_WAITING = 1024;

/** By NarHash, in the order asked for; the one being compressed stays until it is done. */
const waiting = new Map<string, () => Promise<void>>();
let running = false;
let idle: Promise<void> = Promise.resolve();

export interface CompressLaterSources extends NarSources {
  readonly narCache: CompressedNarCache;
}

/**
 * Queues the making of `path`'s compressed-cache entry. Nothing when it is queued or being made
 * already, or when the queue is full.
 */
export function compressLater(
  sources: CompressLaterSources,
  path: ValidPathOnDisk,
  settings: CompressionSettings,
): void {
  const narHash32 = narHashDigest(path.info.narHash);
  if (waiting.has(narHash32) || waiting.size >= MAX_WAITING) return;
  waiting.set(narHash32, () => makeEntry(sources, path, settings));
  if (!running) {
    idle = runWaiting().catch((error: unknown) => {
      sources.log.warn("compressing NARs for the cache failed", { detail: String(error) });
    });
  }
}

/** Resolves once no entry is waiting or being made (for tests and shutdown). */
export function compressedLaterIdle(): Promise<void> {
  return idle;
}

async function runWaiting(): Promise<void> {
  running = true;
  try {
    for (;;) {
      const next = waiting.entries().next();
      if (next.done === true) return;
      const [narHash32, make] = next.value;
      try {
        await make();
      } finally {
        waiting.delete(narHash32);
      }
    }
  } finally {
    running = false;
  }
}

async function makeEntry(
  sources: CompressLaterSources,
  path: ValidPathOnDisk,
  settings: CompressionSettings,
): Promise<void> {
  const narHash32 = narHashDigest(path.info.narHash);
  const keep = await sources.narCache.startWrite(narHash32, path.info.narSize);
  // Being written by a download that compresses as it goes (a client refusing identity).
  if (keep === undefined) return;
  let whole = false;
  try {
    const body = wholeNarBody(sources, path, true);
    whole = await encodeForTee(body.chunks, "zstd", settings, keep.tee(), body.written);
  } catch (error) {
    // The store path changed or went away since its download: no entry, and the next
    // download finds out what it is now.
    sources.log.debug("NAR not compressed for the cache", {
      narHash: narHash32,
      detail: error instanceof Error ? error.message : String(error),
    });
  } finally {
    await (whole ? keep.commit() : keep.abort());
  }
}
