// How long storefront takes to build every NAR of the closure with no HTTP at all: its NAR
// serialiser (src/store/nar/nar-stream.ts) run in the benchmark's own process, the bytes counted
// and dropped. Set against nginx's whole NAR c1 pass, it shows what making NARs from the
// store's files costs before a byte reaches a socket.

import { performance } from "node:perf_hooks";
import { releaseChunk } from "../src/store/nar/chunks.ts";
import { narStream } from "../src/store/nar/nar-stream.ts";
import type { NarRef } from "./client.ts";

/** Seconds to serialise every NAR once; fails if any comes out a different size. */
export function buildEveryNar(
  storeDir: string,
  paths: readonly string[],
  nars: readonly NarRef[],
): number {
  const sizes = new Map(nars.map((nar) => [nar.hash, nar.narSize]));
  const start = performance.now();
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const narSize = sizes.get(name.slice(0, 32));
    if (narSize === undefined) throw new Error(`${path}: no narinfo`);
    let bytes = 0;
    for (const chunk of narStream(`${storeDir}/${name}`, narSize)) {
      bytes += chunk.length;
      releaseChunk(chunk);
    }
    if (bytes !== narSize) throw new Error(`${path}: NAR of ${bytes} bytes, not ${narSize}`);
  }
  return (performance.now() - start) / 1000;
}
