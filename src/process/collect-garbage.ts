// A full garbage collection on demand, for the moment a burst of downloads has ended. Their
// buffers (NAR chunks, encoder output) live outside V8's heap, which alone decides when to
// collect: a process left idle after hundreds of streams kept 60 MiB of such garbage for as
// long as it stayed idle, since nothing allocated enough to start a collection.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8's full collection, or undefined when this V8 does not let us have it. */
export function fullCollector(): (() => void) | undefined {
  try {
    // The flag takes effect for contexts made after it: a new one has `gc` as a global.
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    if (typeof gc !== "function") return undefined;
    return () => {
      (gc as () => void)();
    };
  } catch {
    return undefined;
  }
}
