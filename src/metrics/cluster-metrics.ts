// Metrics across node:cluster workers, so that one scrape tells the whole truth: whichever
// worker receives GET /metrics asks the primary over IPC; the primary collects every worker's
// registry with prom-client's AggregatorRegistry (counters and histograms summed, each metric
// by its own aggregator), adds its own registry (the store metrics, kept in the one process
// that watches the store) and answers with the text.
//
//   primary: primaryMetricsHandlers(ownRegistry)    its IPC handlers, given to runPrimary
//   worker:  setupWorkerMetrics(metrics.registry)   once, at start
//            clusterMetricsText()                   what /metrics answers with

import type { Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { PrimaryMessageHandlers } from "../process/cluster-messages.ts";

const REQUEST = "storefront:cluster-metrics-request";
const RESPONSE = "storefront:cluster-metrics-response";
/** A worker tells where `[metrics] bind` listens (the port, when it was 0). */
const METRICS_LISTENING = "storefront:metrics-listening";
/** prom-client gives up on silent workers after 5 s; this waits a little longer for that. */
const TIMEOUT_MS = 10_000;

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}

interface MetricsResponse {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T["type"]): message is T {
  return (
    typeof message === "object" && message !== null && (message as { type?: unknown }).type === type
  );
}

/**
 * In the primary: the IPC handlers that answer workers' requests for the cluster's metrics,
 * and hear where the workers' metrics listener is.
 */
export function primaryMetricsHandlers(
  own: Registry,
  onMetricsAddress: (address: string) => void,
): PrimaryMessageHandlers {
  const aggregator = new AggregatorRegistry();
  return {
    [METRICS_LISTENING]: (message: unknown) => {
      const address = (message as { address?: unknown }).address;
      if (typeof address === "string") onMetricsAddress(address);
    },
    [REQUEST]: (message: unknown, worker: Worker) => {
      if (!isMessage<MetricsRequest>(message, REQUEST)) return;
      const reply = (response: Omit<MetricsResponse, "type" | "id">): void => {
        if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...response });
      };
      Promise.all([own.metrics(), aggregator.clusterMetrics()]).then(
        ([ownText, workersText]) => {
          reply({ text: ownText === "" ? workersText : `${ownText}\n${workersText}` });
        },
        (error: unknown) => {
          reply({ error: error instanceof Error ? error.message : String(error) });
        },
      );
    },
  };
}

/** In a worker: makes `registry` the one the primary collects from this process. */
export function setupWorkerMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener that answers the primary's requests.
  new AggregatorRegistry();
}

/** In a worker: tells the primary where its `[metrics] bind` listener is. */
export function reportMetricsAddress(address: string): void {
  process.send?.({ type: METRICS_LISTENING, address });
}

let nextId = 0;

/** In a worker: the whole cluster's metrics, as the primary aggregates them. */
export function clusterMetricsText(): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!isMessage<MetricsResponse>(message, RESPONSE) || message.id !== id) return;
      done();
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(`cluster metrics: ${message.error ?? "no answer"}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("cluster metrics: the primary did not answer"));
    }, TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      process.off("message", onMessage);
    };
    process.on("message", onMessage);
    if (process.send === undefined) {
      done();
      reject(new Error("cluster metrics: not a cluster worker"));
      return;
    }
    process.send({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
