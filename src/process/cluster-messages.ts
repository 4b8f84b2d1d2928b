// The messages between a cluster's primary and its workers over node:cluster's IPC channel.
// Kept apart from process/cluster.ts so that other modules that talk over the same channel
// (metrics/cluster-metrics.ts) depend on the message shapes, not on the cluster's running.

import type { Worker } from "node:cluster";
import type { ListenTarget } from "../config/listen-address.ts";
import type { Config } from "../config/config.ts";

/** From the primary to a worker; other modules use their own `type` values. */
export type ToWorker =
  | { type: "storefront:start"; config: Config; targets: readonly ListenTarget[] }
  | { type: "storefront:reload"; config: Config }
  | { type: "storefront:shutdown" };

/** From a worker to the primary. */
export type FromWorker =
  | { type: "storefront:hello" }
  | { type: "storefront:listening"; addresses: readonly string[] }
  | { type: "storefront:fatal"; message: string };

export interface WorkerMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Handlers in the primary for messages that workers send with `process.send({ type, ... })`,
 * keyed by `type` (e.g. requests for metrics to aggregate). A handler answers with
 * `worker.send(...)` if the message asks for an answer.
 */
export type PrimaryMessageHandlers = Readonly<
  Record<string, (message: WorkerMessage, worker: Worker) => void>
>;

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string"
  );
}
