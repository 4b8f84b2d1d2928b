// Where a whole NAR comes from: its cached layout when there is one, else a walk of the store
// path that records the layout for the next download.

import type { Stats } from "node:fs";
import type { NarLayoutCache } from "./nar-layout-cache.ts";
import type { LayoutRecorder } from "./nar-layout-recorder.ts";
import { narStream } from "./nar-stream.ts";

export interface NarSource {
  readonly narHash32: string;
  readonly narSize: number;
  readonly realPath: string;
  /** The lstat of `realPath`. */
  readonly stats: Stats;
}

/**
 * The whole NAR of a valid path on disk, in chunks from the NAR chunk pool. Nothing is opened
 * until the first chunk is asked for, so a stream dropped before it starts holds nothing.
 */
export function* wholeNar(
  layouts: NarLayoutCache | undefined,
  source: NarSource,
): Generator<Buffer> {
  const { narHash32, narSize, realPath, stats } = source;
  // A lone file or symlink is as cheap to walk as its layout would be to read.
  if (layouts === undefined || !stats.isDirectory()) {
    yield* narStream(realPath, narSize, undefined, stats);
    return;
  }
  const cached = layouts.open(narHash32, narSize, realPath);
  if (cached !== undefined) {
    yield* cached;
    return;
  }
  const recorder = layouts.record(narHash32, narSize);
  if (recorder === undefined) {
    yield* narStream(realPath, narSize, undefined, stats);
    return;
  }
  yield* recorded(narStream(realPath, narSize, undefined, stats, recorder.onLargeFile), recorder);
}

/** Passes the walk's chunks through the recorder; keeps the layout if the walk completed. */
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
