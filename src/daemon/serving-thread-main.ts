// The module a serving thread runs (`threads = N`, process/threads.ts): the same app as the
// main thread, on the TCP addresses it was given, without the store monitor (the main thread's)
// and without a `[metrics] bind` listener (the main thread's, which answers for all threads).
// Imported in the main thread it does nothing: src/start.js loads it there so that it is in the
// compile cache before a thread needs it (a thread that strips types itself holds the type
// stripper, ~17 MiB, for its life).

import { isMainThread } from "node:worker_threads";
import { createLogger } from "../log.ts";
import { dropProcessMetrics } from "../metrics/thread-metrics.ts";
import { runServingThread } from "../process/serving-thread.ts";
import { startServing } from "./serving.ts";

function serveInThisThread(): void {
  const log = createLogger();
  runServingThread(log, (config, targets, metrics) =>
    startServing(config, targets, log, {
      clusterWorker: false,
      monitor: false,
      reusePort: true,
      metricsListener: false,
      metricsText: (registry) => {
        dropProcessMetrics(registry);
        metrics.register(registry);
        return metrics.processText;
      },
    }),
  );
}

if (!isMainThread) serveInThisThread();
