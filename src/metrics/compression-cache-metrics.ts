// Metrics of the compressed-NAR disk cache, read from the cache's own counters when Prometheus
// scrapes (the cache counts; nothing is recorded twice).

import { Counter, Gauge, type Registry } from "prom-client";

export interface CompressionCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly sizeBytes: number;
}

export function registerCompressionCacheMetrics(
  registry: Registry,
  stats: () => CompressionCacheStats,
): void {
  const registers = [registry];
  new Counter({
    name: "storefront_compression_cache_hits_total",
    help: "Compressed NARs served from the disk cache.",
    registers,
    collect() {
      this.reset();
      this.inc(stats().hits);
    },
  });
  new Counter({
    name: "storefront_compression_cache_misses_total",
    help: "Compressed NARs that were not in the disk cache.",
    registers,
    collect() {
      this.reset();
      this.inc(stats().misses);
    },
  });
  new Gauge({
    name: "storefront_compression_cache_size_bytes",
    help: "Bytes the compressed-NAR disk cache holds.",
    registers,
    collect() {
      this.set(stats().sizeBytes);
    },
  });
}
