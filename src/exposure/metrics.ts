// The served set's size on /metrics, read from the set at each scrape (two numbers kept up to
// date by the set itself, so a scrape costs nothing). Every serving process holds the same set:
// "max" keeps a cluster's aggregation from adding up the copies.

import { Gauge, type Registry } from "prom-client";
import type { Exposure } from "./exposure.ts";

export function registerExposureMetrics(registry: Registry, exposure: Exposure): void {
  const registers = [registry];
  const aggregator = "max" as const;
  new Gauge({
    name: "storefront_served_paths",
    help: "Store paths served under [exposure] only_closures_of: the closures of its roots.",
    registers,
    aggregator,
    collect() {
      this.set(exposure.totals().paths);
    },
  });
  new Gauge({
    name: "storefront_served_nar_bytes",
    help: "Total NAR size of the store paths served under [exposure] only_closures_of.",
    registers,
    aggregator,
    collect() {
      this.set(exposure.totals().bytes);
    },
  });
}
