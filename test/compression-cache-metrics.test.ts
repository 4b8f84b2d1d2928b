import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerCompressionCacheMetrics } from "../src/metrics/compression-cache-metrics.ts";
import { parseMetrics } from "./support/metrics.ts";

describe("compression cache metrics", () => {
  it("reads the cache's counters at each scrape", async () => {
    const registry = new Registry();
    const cache = { hits: 3, misses: 1, size: 4096 };
    registerCompressionCacheMetrics(registry, cache);
    let series = parseMetrics(await registry.metrics());
    expect(series.get("storefront_compression_cache_hits_total")).toBe(3);
    expect(series.get("storefront_compression_cache_misses_total")).toBe(1);
    expect(series.get("storefront_compression_cache_size_bytes")).toBe(4096);
    cache.hits = 10;
    cache.size = 0;
    series = parseMetrics(await registry.metrics());
    expect(series.get("storefront_compression_cache_hits_total")).toBe(10);
    expect(series.get("storefront_compression_cache_size_bytes")).toBe(0);
  });
});
