// The thread that measures the store for the status page (see overview-thread.ts): it opens
// Nix's database, answers the one request it was started with, and ends.

import { parentPort, workerData } from "node:worker_threads";
import { StoreOverview, type OverviewRequest } from "./store-overview.ts";

const { dbPath, request } = workerData as { dbPath: string; request: OverviewRequest };
try {
  const overview = new StoreOverview(dbPath);
  try {
    parentPort?.postMessage({ ok: true, overview: overview.measure(request) });
  } finally {
    overview.close();
  }
} catch (error) {
  parentPort?.postMessage({
    ok: false,
    message: error instanceof Error ? error.message : String(error),
  });
}
