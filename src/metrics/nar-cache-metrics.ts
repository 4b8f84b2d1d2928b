// Metrics of the NAR cache directory (compressed NARs and NAR layouts), read from the caches'
// own counters when Prometheus scrapes (the caches count; nothing is recorded twice).

import { Counter, Gauge, type Registry } from "prom-client";

interface HitsAndMisses {
  readonly hits: number;
  readonly misses: number;
}

/** What the caches tell: their counters since start, and the bytes their directory holds. */
export interface NarCacheStats {
  readonly compressed: HitsAndMisses;
  readonly layouts: HitsAndMisses;
  readonly directory: { readonly size: number };
}

function countFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function registerNarCacheMetrics(registry: Registry, cache: NarCacheStats): void {
  const { compressed, layouts, directory } = cache;
  countFrom(
    registry,
    "storefront_compression_cache_hits_total",
    "Compressed NARs served from the disk cache.",
    () => compressed.hits,
  );
  countFrom(
    registry,
    "storefront_compression_cache_misses_total",
    "Compressed NARs that were not in the disk cache.",
    () => compressed.misses,
  );
  countFrom(
    registry,
    "storefront_nar_layout_cache_hits_total",
    "NARs served from their cached layout, without walking the store path.",
    () => layouts.hits,
  );
  countFrom(
    registry,
    "storefront_nar_layout_cache_misses_total",
    "NARs of directories whose layout was not cached: walked, and the layout recorded.",
    () => layouts.misses,
  );
  new Gauge({
    name: "storefront_compression_cache_size_bytes",
    help: "Bytes the NAR disk cache holds: compressed NARs and NAR layouts.",
    registers: [registry],
    // Every worker sees the one cache directory: its size is not summed across them.
    aggregator: "max",
    collect() {
      this.set(directory.size);
    },
  });
}
