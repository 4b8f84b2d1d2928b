// The thread that counts the closures of some paths (see StoreMonitor.rootsChanged): it opens
// Nix's database, counts, and ends.

import { parentPort, workerData } from "node:worker_threads";
import { answerOnce } from "./one-shot-thread.ts";
import { StoreIndex } from "./store-index.ts";

const { dbPath, storePaths } = workerData as { dbPath: string; storePaths: string[] };
answerOnce(
  (answer) => parentPort?.postMessage(answer),
  () => {
    const index = new StoreIndex(dbPath);
    try {
      return index.closureTotals(storePaths);
    } finally {
      index.close();
    }
  },
);
