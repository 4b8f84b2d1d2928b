// The thread that measures the store for the status page (see overview-thread.ts): it opens
// Nix's database, answers the one request it was started with, and ends.

import { parentPort, workerData } from "node:worker_threads";
import { answerOnce } from "./one-shot-thread.ts";
import { StoreOverview, type OverviewRequest } from "./store-overview.ts";

const { dbPath, request } = workerData as { dbPath: string; request: OverviewRequest };
answerOnce(
  (answer) => parentPort?.postMessage(answer),
  () => {
    const overview = new StoreOverview(dbPath);
    try {
      return overview.measure(request);
    } finally {
      overview.close();
    }
  },
);
