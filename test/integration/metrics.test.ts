// /metrics after known traffic: request counts by route name (never the raw URL), narinfo hits,
// misses and cache hits, signatures, bytes, the store's totals, and process metrics; and the
// `[metrics]` keys that move it to its own address or turn it off.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import { parseMetrics, sumOf } from "../support/metrics.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore, hashOf } from "../support/nix.ts";
import { generateKey, startServer, type RunningServer } from "../support/server.ts";
import { waitForValue } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("metrics", () => {
  let store: TestStore;
  let server: RunningServer | undefined;
  const others: RunningServer[] = [];
  let tree = "";
  let base: string[] = [];

  beforeAll(async () => {
    store = makeTestStore("storefront-metrics-");
    tree = nixBuild(store, FIXTURE, ["tree"]).get("tree") ?? "";
    const { secret } = await generateKey(store.root, "test-1");
    base = [`bind = "127.0.0.1:0"`, `real_nix_store = "${store.realStoreDir}"`];
    // One process, so that its narinfo cache (one per process) sees every request.
    server = await startServer(
      store.root,
      [...base, `workers = 1`, `sign_key_paths = ["${secret}"]`].join("\n"),
    );
  });

  afterAll(async () => {
    await server?.stop();
    for (const other of others) await other.stop();
    store.remove();
  });

  it("counts known traffic", async () => {
    const url = server?.url ?? "";
    const hash = hashOf(tree);
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/${hash}.narinfo`)).status).toBe(200);
    const missing = "0".repeat(32);
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/${missing}.narinfo`)).status).toBe(404);
    expect((await fetch(`${url}/not-a-hash.narinfo`)).status).toBe(400);
    expect((await fetch(`${url}/some/unknown/${hash}/path`)).status).toBe(404);
    const narInfo = await (await fetch(`${url}/${hash}.narinfo`)).text();
    const narUrl = /^URL: (.*)$/m.exec(narInfo)?.[1] ?? "";
    const narSize = Number(/^NarSize: (\d+)$/m.exec(narInfo)?.[1]);
    // Uncompressed, so that the bytes sent are known to exceed the NAR's size.
    const nar = await fetch(`${url}/${narUrl}`, { headers: { "accept-encoding": "identity" } });
    expect((await nar.arrayBuffer()).byteLength).toBe(narSize);

    // zstd twice: each is a hit or a miss of the compressed-NAR cache (the first a miss; the
    // second a hit once the first's entry is committed, which may come after its response).
    for (let i = 0; i < 2; i++) {
      const zstd = await get(url, `/${narUrl}`, { headers: { "accept-encoding": "zstd" } });
      expect(zstd.headers["content-encoding"]).toBe("zstd");
    }

    // A stream leaves the in-flight gauge just after its last byte went out, so the client can
    // be done a moment before the server is: scrape until the server is done too.
    const text = await waitForValue("NAR streams to finish", async () => {
      const scraped = await (await fetch(`${url}/metrics`)).text();
      return parseMetrics(scraped).get("storefront_nar_streams_in_flight") === 0
        ? scraped
        : undefined;
    });
    const series = parseMetrics(text);
    const misses = series.get("storefront_compression_cache_misses_total") ?? 0;
    expect(misses).toBeGreaterThanOrEqual(1);
    expect(misses + (series.get("storefront_compression_cache_hits_total") ?? 0)).toBe(2);
    expect(series.get("storefront_compression_cache_size_bytes")).toBeGreaterThanOrEqual(0);
    const requests = (labels: Record<string, string>): number =>
      sumOf(series, "storefront_http_requests_total", labels);
    expect(requests({ route: "/<hash>.narinfo", method: "GET", status: "200" })).toBe(4);
    expect(requests({ route: "/<hash>.narinfo", status: "404" })).toBe(2);
    expect(requests({ route: "/<hash>.narinfo", status: "400" })).toBe(1);
    expect(requests({ route: "unmatched", status: "404" })).toBe(1);
    expect(requests({ route: "/nar/<narhash>.nar", status: "200" })).toBe(3);
    // Labels are route names: no hash, no URL.
    expect(text).not.toContain(hash);
    expect(text).not.toContain("unknown");

    expect(series.get("storefront_narinfo_hits_total")).toBe(4);
    expect(series.get("storefront_narinfo_misses_total")).toBe(2);
    // The first narinfo was rendered and signed; the others came from the cache. A late event of
    // the database watch (the test store was just built; a loaded machine delivers it late)
    // empties the cache once more, so one of them may be rendered again: each is one or the other.
    const cacheHits = series.get("storefront_narinfo_cache_hits_total") ?? 0;
    const signatures = series.get("storefront_signatures_total") ?? 0;
    expect(cacheHits).toBeGreaterThanOrEqual(2);
    expect(signatures).toBeGreaterThanOrEqual(1);
    expect(cacheHits + signatures).toBe(4);
    expect(series.get("storefront_nar_streams_in_flight")).toBe(0);
    expect(
      sumOf(series, "storefront_http_response_bytes_total", { route: "/nar/<narhash>.nar" }),
    ).toBeGreaterThan(narSize);
    expect(
      sumOf(series, "storefront_http_request_duration_seconds_count", {
        route: "/<hash>.narinfo",
      }),
    ).toBe(7);

    const database = new DatabaseSync(store.dbPath, { readOnly: true });
    const totals = database
      .prepare("SELECT COUNT(*) AS count, SUM(narSize) AS bytes FROM ValidPaths")
      .get();
    database.close();
    expect(series.get("storefront_store_valid_paths")).toBe(Number(totals?.["count"]));
    expect(series.get("storefront_store_nar_bytes")).toBe(Number(totals?.["bytes"]));
    expect(series.get("storefront_pins")).toBe(0);
    expect(series.get("storefront_process_cpu_seconds_total")).toBeGreaterThan(0);
    for (const line of text.split("\n")) {
      if (line.startsWith("# TYPE ")) expect(line).toMatch(/^# TYPE storefront_/);
    }
  });

  it("moves to its own address with [metrics] bind", async () => {
    const dir = join(store.root, "separate");
    mkdirSync(dir);
    const separate = await startServer(
      dir,
      [...base, `workers = 2`, `[metrics]`, `bind = "127.0.0.1:0"`].join("\n"),
    );
    others.push(separate);
    const port = await waitForValue(
      "the metrics listener",
      () => /metrics listening on \S*:(\d+)/.exec(separate.stderr())?.[1],
    );
    expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("storefront_http_requests_total");
    // Only /metrics is there.
    expect((await fetch(`http://127.0.0.1:${port}/nix-cache-info`)).status).toBe(404);
  });

  it("sums the workers' numbers into one scrape", async () => {
    const dir = join(store.root, "cluster");
    mkdirSync(dir);
    const cluster = await startServer(dir, [...base, `workers = 2`].join("\n"));
    others.push(cluster);
    const hash = hashOf(tree);
    // Separate connections, so that both workers take some.
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${cluster.url}/${hash}.narinfo`, {
        headers: { connection: "close" },
      });
      expect(response.status).toBe(200);
    }
    const text = await (await fetch(`${cluster.url}/metrics`)).text();
    const series = parseMetrics(text);
    expect(
      sumOf(series, "storefront_http_requests_total", { route: "/<hash>.narinfo", status: "200" }),
    ).toBe(10);
    expect(series.get("storefront_narinfo_hits_total")).toBe(10);
    expect(series.get("storefront_store_valid_paths")).toBeGreaterThan(0);
    // Every metric once: summed, not listed per worker.
    const types = text.split("\n").filter((line) => line.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
    expect(
      types.filter((line) => line.startsWith("# TYPE storefront_store_valid_paths ")),
    ).toHaveLength(1);
  });

  it("is off with [metrics] enable = false", async () => {
    const dir = join(store.root, "off");
    mkdirSync(dir);
    const off = await startServer(dir, [...base, `[metrics]`, `enable = false`].join("\n"));
    others.push(off);
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${off.url}/nix-cache-info`)).status).toBe(200);
  });
});
