import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerNarCacheMetrics } from "../../src/metrics/nar-cache-metrics.ts";
import { parseMetrics } from "../support/metrics.ts";

describe("NAR cache metrics", () => {
  it("reads the caches' counters at each scrape", async () => {
    const registry = new Registry();
    const cache = {
      compressed: { hits: 3, misses: 1 },
      layouts: { hits: 7, misses: 2 },
      directory: { size: 4096 },
    };
    registerNarCacheMetrics(registry, cache);
    let series = parseMetrics(await registry.metrics());
    expect(series.get("storefront_compression_cache_hits_total")).toBe(3);
    expect(series.get("storefront_compression_cache_misses_total")).toBe(1);
    expect(series.get("storefront_nar_layout_cache_hits_total")).toBe(7);
    expect(series.get("storefront_nar_layout_cache_misses_total")).toBe(2);
    expect(series.get("storefront_compression_cache_size_bytes")).toBe(4096);
    cache.compressed.hits = 10;
    cache.layouts.hits = 8;
    cache.directory.size = 0;
    series = parseMetrics(await registry.metrics());
    expect(series.get("storefront_compression_cache_hits_total")).toBe(10);
    expect(series.get("storefront_nar_layout_cache_hits_total")).toBe(8);
    expect(series.get("storefront_compression_cache_size_bytes")).toBe(0);
  });
});
