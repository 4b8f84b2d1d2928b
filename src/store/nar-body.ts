// Where a NAR's bytes come from, decided in one place: for a range, a walk of that window of
// the store path; for a whole NAR, the compressed cache when the client takes zstd and the
// cache has it, else the NAR's layout or a walk (whole-nar.ts). No byte of it is read until
// the body is iterated.

import { narHashDigest } from "../core/nix/path-info.ts";
import type { Logger } from "../log.ts";
import type { ValidPathOnDisk } from "./nar/valid-path.ts";
import type { CacheWriter, CompressedNarCache } from "./nar-cache/compressed-nar-cache.ts";
import type { NarLayoutCache } from "./nar-cache/layout-cache.ts";
import { pooledBody, type StoreBody } from "./nar/body.ts";
import type { NarWindow } from "./nar/chunks.ts";
import { narStream } from "./nar/nar-stream.ts";
import { wholeNar } from "./whole-nar.ts";

/** The caches a NAR may come from; either may be absent (`[nar_cache]` off or unusable). */
export interface NarSources {
  readonly narCache: CompressedNarCache | undefined;
  readonly narLayouts: NarLayoutCache | undefined;
  readonly log: Logger;
}

export type NarBody =
  /**
   * The NAR's bytes (the window's, for a range), to send as they are or compress on the way
   * out. `keep`, when there is one, takes the compressed bytes into the compressed cache.
   */
  | {
      readonly compressed: false;
      readonly body: StoreBody;
      readonly keep?: CacheWriter;
      /** A zstd NAR the compressed cache does not hold (yet), asked for with `later`. */
      readonly missed?: true;
    }
  /** The NAR compressed already, `length` bytes: a file of the compressed cache. */
  | { readonly compressed: true; readonly body: StoreBody; readonly length: number };

/**
 * What to do when a client takes zstd and the compressed cache does not hold the NAR: `now`
 * compresses it on the way out and keeps the result; `later` gives the NAR as it is, marked
 * `missed`, for the caller to send plain and have the entry made off the request path.
 */
export type OnCacheMiss = "now" | "later";

/**
 * The body for the NAR of `path`: bytes `window` of it, or the whole NAR for a client that
 * takes `encoding` (a content coding, or undefined for the NAR as it is). Neither a window nor
 * a whole NAR gives its last byte unless the store path is still the one found: a window is
 * not hashed, so it checks the registration and the path's top, as a NAR from a layout does
 * (whole-nar.ts). The walk starts from the lstat that found the path on disk: no second one.
 */
export async function narBody(
  sources: NarSources,
  path: ValidPathOnDisk,
  window: NarWindow | undefined,
  encoding: string | undefined,
  onMiss: OnCacheMiss = "now",
): Promise<NarBody> {
  const { info, realPath, stats, assertUnchanged } = path;
  const narHash32 = narHashDigest(info.narHash);
  const narSize = info.narSize;
  if (window !== undefined) {
    const chunks = narStream(realPath, narSize, window, {
      top: stats,
      beforeLast: assertUnchanged,
    });
    return { compressed: false, body: pooledBody(chunks) };
  }
  const { narCache, log } = sources;
  if (encoding !== "zstd" || narCache === undefined) {
    return { compressed: false, body: wholeNarBody(sources, path) };
  }
  const cached = narCache.open(narHash32, narSize);
  if (cached !== undefined) {
    log.debug("NAR from the compressed cache", { narHash: narHash32, hits: narCache.hits });
    return { compressed: true, body: pooledBody(cached.body), length: cached.length };
  }
  if (onMiss === "later") {
    return { compressed: false, body: wholeNarBody(sources, path), missed: true };
  }
  // Compressed once for this client, and kept for the next ones.
  const keep = await narCache.startWrite(narHash32, narSize);
  const body = wholeNarBody(sources, path, keep !== undefined);
  return keep === undefined ? { compressed: false, body } : { compressed: false, body, keep };
}

/**
 * The whole NAR of `path` as it is: from its layout, or a walk that records one. For bytes that
 * go into the compressed-NAR cache (`kept`), a walk hashes them itself (whole-nar.ts): an entry
 * is kept only from a NAR that is its NarHash's.
 */
export function wholeNarBody(
  { narLayouts }: Pick<NarSources, "narLayouts">,
  { info, realPath, stats, assertUnchanged }: ValidPathOnDisk,
  kept = false,
): StoreBody {
  const narHash32 = narHashDigest(info.narHash);
  const narSize = info.narSize;
  const source = { narHash32, narSize, realPath, stats, assertUnchanged };
  return pooledBody(wholeNar(narLayouts, source, kept));
}
