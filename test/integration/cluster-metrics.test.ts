// The cluster aggregation on a tiny real cluster (test/fixtures/cluster-metrics.ts): two
// workers that recorded three requests each, scraped through one of them.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseMetrics } from "../support/metrics.ts";

const FIXTURE = new URL("../fixtures/cluster-metrics.ts", import.meta.url).pathname;

describe("cluster metrics", () => {
  it("sums the workers' metrics and adds the primary's", () => {
    const result = spawnSync(process.execPath, [FIXTURE], { encoding: "utf8", timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const metrics = parseMetrics(result.stdout);
    expect(
      metrics.get(
        'storefront_http_requests_total{route="/<hash>.narinfo",method="GET",status="200"}',
      ),
    ).toBe(6);
    expect(metrics.get("storefront_narinfo_hits_total")).toBe(6);
    expect(metrics.get('storefront_http_response_bytes_total{route="/<hash>.narinfo"}')).toBe(600);
    expect(metrics.get("storefront_store_valid_paths")).toBe(42);
    expect(metrics.get("storefront_process_cpu_seconds_total")).toBeGreaterThan(0);
    // Each metric appears once, however many workers reported it.
    const types = result.stdout.split("\n").filter((line) => line.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
  });
});
