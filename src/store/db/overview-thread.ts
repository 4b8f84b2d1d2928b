// Measuring the store for the status page off the serving thread: reading a large store's
// reference graph takes a second or more (store-overview.ts), during which a process that did it
// itself would answer no request. A thread per measurement (one-shot-thread.ts; started only
// when the page is asked for, and at most once per its cache's lifetime) does it on another
// core; its memory goes with it.

import { askThread } from "./one-shot-thread.ts";
import type { Overview, OverviewRequest } from "./store-overview.ts";

const WORKER = new URL("./overview-worker.ts", import.meta.url);

export class ThreadedStoreOverview {
  readonly #dbPath: string;

  constructor(dbPath: string) {
    this.#dbPath = dbPath;
  }

  measure(request: OverviewRequest): Promise<Overview> {
    return askThread(WORKER, { dbPath: this.#dbPath, request }, "measuring the store for /status");
  }
}
