// Metrics of the compressed-NAR disk cache, read from the cache's own counters when Prometheus
// scrapes (the cache counts; nothing is recorded twice).

import { Counter, Gauge, type Registry } from "prom-client";

/** What the cache tells: its counters since start and the bytes it holds. */
export interface CompressionCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

export function registerCompressionCacheMetrics(
  registry: Registry,
  cache: CompressionCacheStats,
): void {
  const registers = [registry];
  new Counter({
    name: "storefront_compression_cache_hits_total",
    help: "Compressed NARs served from the disk cache.",
    registers,
    collect() {
      this.reset();
      this.inc(cache.hits);
    },
  });
  new Counter({
    name: "storefront_compression_cache_misses_total",
    help: "Compressed NARs that were not in the disk cache.",
    registers,
    collect() {
      this.reset();
      this.inc(cache.misses);
    },
  });
  new Gauge({
    name: "storefront_compression_cache_size_bytes",
    help: "Bytes the compressed-NAR disk cache holds.",
    registers,
    // Every worker sees the one cache directory: its size is not summed across them.
    aggregator: "max",
    collect() {
      this.set(cache.size);
    },
  });
}
