// What a serving thread (`threads = N`, src/process/threads.ts) runs first. Like src/start.js,
// plain JavaScript, so that Node's compile cache is on before the first TypeScript file loads:
// the cache that src/start.js enabled is the main thread's alone, and a thread that strips
// types itself loads the type stripper, which holds ~17 MiB for the thread's life (measured: a
// thread at +47 MiB VmRSS without the cache, +30 MiB with it).

import { enableCompileCache, getCompileCacheDir } from "node:module";
import { workerData } from "node:worker_threads";

const directory = workerData?.compileCache;
if (typeof directory === "string" && getCompileCacheDir() === undefined) {
  try {
    enableCompileCache(directory);
  } catch {
    // Serve as fast, only without the cache.
  }
}

await import("./daemon/serving-thread-main.ts");
