// Measuring the store for the status page off the serving thread: reading a large store's
// reference graph takes a second or more (store-overview.ts), during which a process that did it
// itself would answer no request. A worker thread per measurement (started only when the page
// is asked for, and at most once per its cache's lifetime) does it on another core; its memory
// goes with it.

import { Worker } from "node:worker_threads";
import { StorefrontError } from "../../errors.ts";
import type { Overview, OverviewRequest } from "./store-overview.ts";

const WORKER = new URL("./overview-worker.ts", import.meta.url);

type Answer =
  | { readonly ok: true; readonly overview: Overview }
  | { readonly ok: false; readonly message: string };

export class ThreadedStoreOverview {
  readonly #dbPath: string;

  constructor(dbPath: string) {
    this.#dbPath = dbPath;
  }

  measure(request: OverviewRequest): Promise<Overview> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER, { workerData: { dbPath: this.#dbPath, request } });
      // A measurement never keeps a stopping process alive.
      worker.unref();
      const fail = (detail: string): void => {
        reject(
          new StorefrontError("internal", `measuring the store for /status failed: ${detail}`),
        );
      };
      worker.once("message", (answer: Answer) => {
        if (answer.ok) resolve(answer.overview);
        else fail(answer.message);
      });
      worker.once("error", (error: unknown) => {
        fail(error instanceof Error ? error.message : String(error));
      });
      worker.once("exit", (code) => {
        // After an answer this changes nothing: a promise settles once.
        fail(`the measuring thread ended (exit code ${code}) without an answer`);
      });
    });
  }
}
