// A question about the whole store answered on a thread of its own, so that the serving thread
// goes on answering requests: a large store's reference graph, or the closure of a pin over a
// million paths, takes seconds to read. The thread opens Nix's database, answers the one
// question it was started with, and ends; its memory goes with it.

import { Worker } from "node:worker_threads";
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

/** The worker's side: posts `answer()`'s value, or its error's message. */
export function answerOnce<T>(post: (answer: ThreadAnswer<T>) => void, answer: () => T): void {
  try {
    post({ ok: true, value: answer() });
  } catch (error) {
    post({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
}
