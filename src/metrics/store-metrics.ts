// Gauges about the store as a whole. They are set when the store or the roots change (by the
// store monitor), never computed per scrape. In a cluster they live in the one process that
// watches the store, so they are never summed across workers.

import { Counter, Gauge, type Registry } from "prom-client";

export interface StoreMetrics {
  readonly validPaths: Gauge;
  readonly narBytes: Gauge;
  readonly pins: Gauge;
  readonly pinnedPaths: Gauge;
  readonly pinnedBytes: Gauge;
  readonly newPathsLastScan: Gauge;
  readonly newPaths: Counter;
}

export function createStoreMetrics(registry: Registry): StoreMetrics {
  const registers = [registry];
  // Set by one process only; "max" keeps an aggregation from adding up copies of them.
  const aggregator = "max" as const;
  return {
    validPaths: new Gauge({
      name: "storefront_store_valid_paths",
      help: "Valid paths in the store.",
      registers,
      aggregator,
    }),
    narBytes: new Gauge({
      name: "storefront_store_nar_bytes",
      help: "Total NAR size of the valid paths in the store.",
      registers,
      aggregator,
    }),
    pins: new Gauge({
      name: "storefront_pins",
      help: "Pins (named GC roots) that storefront keeps.",
      registers,
      aggregator,
    }),
    pinnedPaths: new Gauge({
      name: "storefront_pinned_paths",
      help: "Store paths kept alive by storefront's roots: the closures of all pin revisions.",
      registers,
      aggregator,
    }),
    pinnedBytes: new Gauge({
      name: "storefront_pinned_bytes",
      help: "Total NAR size of the paths kept alive by storefront's roots.",
      registers,
      aggregator,
    }),
    newPathsLastScan: new Gauge({
      name: "storefront_store_new_paths_last_scan",
      help: "Paths registered in the store, as found by the last scan that found any.",
      registers,
      aggregator,
    }),
    newPaths: new Counter({
      name: "storefront_store_new_paths_total",
      help: "Paths registered in the store since storefront started.",
      registers,
      aggregator,
    }),
  };
}
