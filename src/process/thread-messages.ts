// The messages between the main thread and a process's other serving threads (`threads = N`),
// over each worker thread's MessagePort. Kept apart from process/threads.ts so that the thread's
// side (process/serving-thread.ts) and the metrics depend on the shapes only.

import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";

/** One thread's registry, as `registry.getMetricsAsJSON()` gives it. */
export type RegistryJson = MetricObjectWithValues<MetricValue<string>>[];

/** What a thread is started with (its `workerData`). */
export interface ThreadStart {
  readonly config: Config;
  /** TCP addresses only, each with its port chosen: bound with SO_REUSEPORT. */
  readonly targets: readonly ListenTarget[];
  /** The main thread's compile cache (src/start.js), for src/thread.js to use too. */
  readonly compileCache: string | undefined;
}

/** From the main thread to a serving thread. */
export type ToThread =
  | { readonly type: "reload"; readonly config: Config }
  | { readonly type: "shutdown" }
  /** Send this thread's registry, for the process's /metrics. */
  | { readonly type: "metrics-request"; readonly id: number }
  /** The answer to a thread's `all-metrics-request`: the whole process's /metrics text. */
  | {
      readonly type: "all-metrics";
      readonly id: number;
      readonly text?: string;
      readonly error?: string;
    };

/** From a serving thread to the main thread. */
export type FromThread =
  | { readonly type: "listening" }
  | { readonly type: "fatal"; readonly message: string }
  | { readonly type: "metrics"; readonly id: number; readonly json: RegistryJson }
  /** /metrics was asked of this thread: the main thread answers for the whole process. */
  | { readonly type: "all-metrics-request"; readonly id: number };

function hasType(message: unknown): message is { type: unknown } {
  return typeof message === "object" && message !== null && "type" in message;
}

const TO_THREAD = new Set(["reload", "shutdown", "metrics-request", "all-metrics"]);
const FROM_THREAD = new Set(["listening", "fatal", "metrics", "all-metrics-request"]);

export function isToThread(message: unknown): message is ToThread {
  return hasType(message) && typeof message.type === "string" && TO_THREAD.has(message.type);
}

export function isFromThread(message: unknown): message is FromThread {
  return hasType(message) && typeof message.type === "string" && FROM_THREAD.has(message.type);
}
