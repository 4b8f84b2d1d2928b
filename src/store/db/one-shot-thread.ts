// A question about the whole store answered on a thread of its own, so that the serving thread
// goes on answering requests: a large store's reference graph, or the closure of a pin over a
// million paths, takes seconds to read. The thread opens Nix's database, answers the one
// question it was started with, and ends; its memory goes with it.

import { parentPort, Worker } from "node:worker_threads";
import { StorefrontError } from "../../errors.ts";

/** What a one-shot worker posts: its answer, or why it has none. */
export type ThreadAnswer<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Runs the worker at `url` with `data`; `what` names the question in errors. */
export function askThread<T>(url: URL, data: unknown, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: data });
    // A question never keeps a stopping process alive.
    worker.unref();
    const fail = (detail: string): void => {
      reject(new StorefrontError("internal", `${what} failed: ${detail}`));
    };
    worker.once("message", (answer: ThreadAnswer<T>) => {
      if (answer.ok) resolve(answer.value);
      else fail(answer.message);
    });
    worker.once("error", (error: unknown) => {
      fail(error instanceof Error ? error.message : String(error));
    });
    worker.once("exit", (code) => {
      // After an answer this changes nothing: a promise settles once.
      fail(`its thread ended (exit code ${code}) without an answer`);
    });
  });
}

/**
 * The worker's side, for a question on Nix's database: opens it (`open`), posts what `ask`
 * finds in it, or why it found nothing, and closes it.
 */
export function answerFromDatabase<D extends { close(): void }>(
  open: () => D,
  ask: (database: D) => unknown,
): void {
  let answer: ThreadAnswer<unknown>;
  try {
    const database = open();
    try {
      answer = { ok: true, value: ask(database) };
    } finally {
      database.close();
    }
  } catch (error) {
    answer = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(answer);
}
