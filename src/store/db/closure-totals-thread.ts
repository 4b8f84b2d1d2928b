// What the closures of some paths hold, counted off the serving thread: for a pin on a system
// of a large store that is a recursive walk of SQLite's references, ~2.5 s for a closure of
// 500,000 paths, during which a process that did it itself would answer no request.

import { askThread } from "./one-shot-thread.ts";
import type { PathTotals } from "./store-index.ts";

const WORKER = new URL("./closure-totals-worker.ts", import.meta.url);

/** StoreIndex.closureTotals of `storePaths` in the database at `dbPath`, on a thread. */
export function closureTotalsInThread(
  dbPath: string,
  storePaths: readonly string[],
): Promise<PathTotals> {
  return askThread(WORKER, { dbPath, storePaths }, "counting what the pins keep");
}
