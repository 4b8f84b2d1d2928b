// A serving thread's side of `threads = N` (process/threads.ts): serve the TCP addresses it was
// started with, reload and stop when the main thread says so, and hand its metrics over.
// Signals never reach a worker thread: the main thread handles them for the process.

import { parentPort, workerData } from "node:worker_threads";
import type { Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import type { Logger } from "../log.ts";
import { applyReload, type Reloadable } from "./reload.ts";
import { isToThread, type FromThread, type ThreadStart } from "./thread-messages.ts";

/** What a thread serves with; given by what wires the daemon (daemon/serving-thread-main.ts). */
export interface ThreadServing extends Reloadable {
  stop(): Promise<void>;
}

/** How a thread starts serving, with `metricsText` as what its /metrics answers with. */
export type StartThreadServing = (
  config: Config,
  targets: readonly ListenTarget[],
  metrics: ThreadMetricsHooks,
) => Promise<ThreadServing>;

export interface ThreadMetricsHooks {
  /** Called once with the thread's registry, which the main thread collects. */
  readonly register: (registry: Registry) => void;
  /** The whole process's /metrics text, from the main thread. */
  readonly processText: () => Promise<string>;
}

/** The whole process's metrics are summed in the main thread; it may take a few seconds. */
const ALL_METRICS_TIMEOUT_MS = 10_000;

export function runServingThread(log: Logger, startServing: StartThreadServing): void {
  const port = parentPort;
  if (port === null) throw new Error("runServingThread: not in a worker thread");
  const start = workerData as ThreadStart;
  const send = (message: FromThread): void => {
    port.postMessage(message);
  };

  let registry: Registry | undefined;
  let nextId = 0;
  const waiting = new Map<number, (text: string | undefined, error?: string) => void>();
  const processText = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("thread metrics: the main thread did not answer"));
      }, ALL_METRICS_TIMEOUT_MS);
      waiting.set(id, (text, error) => {
        clearTimeout(timer);
        if (text !== undefined) resolve(text);
        else reject(new Error(`thread metrics: ${error ?? "no answer"}`));
      });
      send({ type: "all-metrics-request", id });
    });

  let serving: ThreadServing | undefined;
  let pendingReload: Config | undefined;
  let stopRequested = false;
  const finish = (code: number): void => {
    port.close();
    process.exit(code);
  };
  const stop = (): void => {
    if (stopRequested) return;
    stopRequested = true;
    if (serving !== undefined)
      void serving.stop().then(() => {
        finish(0);
      });
  };

  port.on("message", (message: unknown) => {
    if (!isToThread(message)) return;
    switch (message.type) {
      case "reload":
        if (serving === undefined) pendingReload = message.config;
        else applyReload(serving, message.config, log);
        return;
      case "shutdown":
        stop();
        return;
      case "metrics-request":
        if (registry === undefined) return;
        void registry.getMetricsAsJSON().then((json) => {
          send({ type: "metrics", id: message.id, json });
        });
        return;
      case "all-metrics":
        waiting.get(message.id)?.(message.text, message.error);
        waiting.delete(message.id);
        return;
    }
  });

  startServing(start.config, start.targets, {
    register: (own) => {
      registry = own;
    },
    processText,
  }).then(
    (started) => {
      serving = started;
      if (pendingReload !== undefined) applyReload(started, pendingReload, log);
      if (stopRequested) {
        void started.stop().then(() => {
          finish(0);
        });
      } else {
        send({ type: "listening" });
      }
    },
    (error: unknown) => {
      send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
      finish(1);
    },
  );
}
