// The thread that counts the closures of some paths (see StoreMonitor.rootsChanged): it opens
// Nix's database, counts, and ends.

import { workerData } from "node:worker_threads";
import { answerFromDatabase } from "./one-shot-thread.ts";
import { StoreIndex } from "./store-index.ts";

const { dbPath, storePaths } = workerData as { dbPath: string; storePaths: string[] };
answerFromDatabase(
  () => new StoreIndex(dbPath),
  (index) => index.closureTotals(storePaths),
);
