// Where a whole NAR comes from: its cached layout when there is one, else a walk of the store
// path that records the layout for the next download.
//
// Either way the NAR's last byte goes out only once the store path is known to be the one the
// request found: a store path deleted and built again while it is read (a build that is not
// deterministic makes the same path with other bytes) must not give a complete body that mixes
// both builds. Such a path gets a registration of its own in the database, and a directory of
// its own on disk, so before the last chunk `assertUnchanged` checks both, and a NAR from a
// layout also that each large file stayed the same file while read.
//
// A layout is kept only if the walk that recorded it yielded the NarHash's bytes: the recorder
// has them hashed on a thread of its own (nar-cache/hash-thread.ts), off the download's path,
// and drops the layout otherwise. A walk that records nothing (a symlink, no NAR cache, a
// layout this process is recording already, or a NAR whose bytes go into the compressed-NAR
// cache: `kept`) hashes what it yields and compares before its last chunk, on the serving
// thread, as every walk once did: one sha256 pass, which had cost a first download a third of
// its CPU. A path that is one file is checked as a layout is: it has no layout, and hashing
// would slow every download of it.

import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { encodeNixBase32 } from "../core/nix/nix-base32.ts";
import { StorefrontError } from "../errors.ts";
import type { NarLayoutCache } from "./nar-cache/layout-cache.ts";
import type { LayoutRecorder } from "./nar-cache/layout-recorder.ts";
import { narStream } from "./nar/nar-stream.ts";

export interface NarSource {
  readonly narHash32: string;
  readonly narSize: number;
  readonly realPath: string;
  /** The lstat of `realPath`. */
  readonly stats: Stats;
  /**
   * Throws `store_changed` unless the store path is still the one the request started with:
   * the same registration in the database, the same file at its top. Called before the last
   * chunk of a NAR that is not hashed.
   */
  readonly assertUnchanged: () => void;
}

/**
 * The whole NAR of a valid path on disk, in chunks from the NAR chunk pool. Nothing is opened
 * until the first chunk is asked for, so a stream dropped before it starts holds nothing. With
 * `kept` (bytes that will be kept), a walk hashes them itself and records no layout.
 */
export function* wholeNar(
  layouts: NarLayoutCache | undefined,
  source: NarSource,
  kept = false,
): Generator<Buffer> {
  const { narHash32, narSize, realPath, stats, assertUnchanged } = source;
  const walk = (): Generator<Buffer> =>
    hashed(narStream(realPath, narSize, undefined, { top: stats }), source);
  // A lone file is as cheap to walk as its layout would be to read, and its walk reads one
  // file, as a layout's span: checked as a layout is, rather than hashed on every download.
  if (stats.isFile()) {
    yield* narStream(realPath, narSize, undefined, { top: stats, beforeLast: assertUnchanged });
    return;
  }
  // A symlink is a few bytes: hashed.
  if (layouts === undefined || !stats.isDirectory()) {
    yield* walk();
    return;
  }
  const cached = layouts.open(narHash32, narSize, realPath, assertUnchanged);
  if (cached !== undefined) {
    yield* cached;
    return;
  }
  const recorder = kept ? undefined : layouts.record(narHash32, narSize);
  if (recorder === undefined) {
    yield* walk();
    return;
  }
  const { onLargeFile } = recorder;
  const unhashed = narStream(realPath, narSize, undefined, {
    top: stats,
    onLargeFile,
    beforeLast: assertUnchanged,
  });
  yield* recorded(unhashed, recorder);
}

/**
 * Passes a walk's chunks on, hashing them; holds the last one until the NAR's sha256 is its
 * NarHash, and fails as a changed store otherwise. The walk yields exactly `narSize` bytes or
 * fails (nar/chunks.ts), so the chunk that reaches `narSize` is the last.
 */
function* hashed(
  walk: Generator<Buffer>,
  { narHash32, narSize, realPath }: NarSource,
): Generator<Buffer> {
  const hash = createHash("sha256");
  let position = 0;
  for (const chunk of walk) {
    // Before the chunk is yielded: once written to the socket, it goes back to the pool.
    hash.update(chunk);
    position += chunk.length;
    if (position === narSize && encodeNixBase32(hash.digest()) !== narHash32) {
      throw new StorefrontError("store_changed", `${realPath}: NAR does not match its NarHash`);
    }
    yield chunk;
  }
}

/**
 * Passes the walk's chunks through the recorder; keeps the layout if the walk completed (and
 * its bytes hash to the NarHash: the recorder checks).
 */
function* recorded(walk: Generator<Buffer>, recorder: LayoutRecorder): Generator<Buffer> {
  let complete = false;
  try {
    for (const chunk of walk) {
      recorder.take(chunk);
      yield chunk;
    }
    complete = true;
  } finally {
    void (complete ? recorder.commit() : recorder.abort());
  }
}
