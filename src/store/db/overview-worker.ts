// The thread that measures the store for the status page (see overview-thread.ts): it opens
// Nix's database, answers the one request it was started with, and ends.

import { workerData } from "node:worker_threads";
import { answerFromDatabase } from "./one-shot-thread.ts";
import { StoreOverview, type OverviewRequest } from "./store-overview.ts";

const { dbPath, request } = workerData as { dbPath: string; request: OverviewRequest };
answerFromDatabase(
  () => new StoreOverview(dbPath),
  (overview) => overview.measure(request),
);
