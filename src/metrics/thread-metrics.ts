// Metrics across a process's serving threads (`threads = N`), so that one scrape tells the whole
// truth: the main thread collects every thread's registry as JSON and sums them with its own,
// each metric by its own aggregator (prom-client's AggregatorRegistry.aggregate, as a cluster's
// primary does over IPC). The main thread's registry also holds the store metrics, kept in the
// one thread that watches the store.
//
//   main thread:    processMetricsText(own, threads.registries)   what its /metrics answers
//   serving thread: dropProcessMetrics(registry)                  once, at start

import { AggregatorRegistry, type Registry } from "prom-client";
import type { RegistryJson } from "../process/thread-messages.ts";

/** The process's metrics: `own` (the main thread's) and every serving thread's, summed. */
export async function processMetricsText(
  own: Registry,
  threads: () => Promise<RegistryJson[]>,
): Promise<string> {
  const [ownJson, others] = await Promise.all([own.getMetricsAsJSON(), threads()]);
  return AggregatorRegistry.aggregate([ownJson, ...others]).metrics();
}

/**
 * The `process_*` metrics (CPU time, resident memory, open files) are the whole process's,
 * whichever thread reads them: only the main thread reports them, or a sum would count them
 * once per thread. The `nodejs_*` ones (heap, event loop) are each thread's own and stay.
 */
export function dropProcessMetrics(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.startsWith("storefront_process_")) registry.removeSingleMetric(metric.name);
  }
}
