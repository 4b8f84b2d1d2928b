// The README's endpoint table and the route table say the same: one row path per route, with
// the route's methods, and the `route` labels a real server puts in /metrics are those paths.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { metricsRoutes, routes, statusRoutes } from "../../src/http/routes/index.ts";
import { uploadRoutes } from "../../src/http/routes/uploads.ts";
import { get } from "../support/http.ts";
import { hashOf, hasNix, STORE_NIX } from "../support/nix.ts";
import { servedStore } from "../support/server.ts";

const README = new URL("../../README.md", import.meta.url).pathname;

/** Path → methods, from the first column of the README's table under "## Endpoints". */
function readmeEndpoints(): Map<string, string[]> {
  const readme = readFileSync(README, "utf8");
  const section = readme.slice(readme.indexOf("## Endpoints\n"));
  // The table: from its header to the first line that is not a row.
  const lines = section.split("\n").slice(2);
  const end = lines.findIndex((line) => !line.startsWith("|"));
  const rows = lines.slice(2, end);
  const endpoints = new Map<string, string[]>();
  for (const row of rows) {
    const cell = row.split(/(?<!\\)\|/)[1] ?? "";
    let methods: string[] = [];
    for (const [, code = ""] of cell.matchAll(/`([^`]+)`/g)) {
      const match = /^([A-Z\\|]+) (\/.*)$/.exec(code);
      if (match !== null) methods = (match[1] ?? "").split("\\|");
      endpoints.set(match?.[2] ?? code, methods);
    }
  }
  return endpoints;
}

describe("the README's endpoint table", () => {
  it("lists every route by its name (the metrics label) with its methods, and nothing else", () => {
    // One row per name: the upload routes share their names with the reading routes.
    const fromRoutes = new Map<string, string[]>();
    for (const route of [...routes, ...statusRoutes, ...uploadRoutes, ...metricsRoutes]) {
      // GET routes answer HEAD too.
      const methods = [...route.methods, ...(route.methods.includes("GET") ? ["HEAD"] : [])];
      const all = new Set([...(fromRoutes.get(route.name) ?? []), ...methods]);
      fromRoutes.set(route.name, [...all].sort());
    }
    const fromReadme = new Map(
      [...readmeEndpoints()].map(([path, methods]) => [path, [...methods].sort()]),
    );
    expect(fromReadme).toEqual(fromRoutes);
  });
});

describe.skipIf(!hasNix)("/metrics", () => {
  const served = servedStore(STORE_NIX, ["topFile"]);

  it("labels requests by the paths of the README's table", async () => {
    const base = served.server.url;
    const hash = hashOf(served.paths.get("topFile") ?? "");
    for (const path of [
      "/",
      "/nix-cache-info",
      "/health",
      "/version",
      "/status",
      `/${hash}.narinfo`,
    ]) {
      expect((await get(base, path)).status).toBe(200);
    }
    await get(base, `/${hash}.ls`);
    await get(base, "/no/such/route");
    const text = (await get(base, "/metrics")).body.toString();
    const labels = new Set(
      [...text.matchAll(/^storefront_http_requests_total\{route="([^"]*)"/gm)].map(
        ([, route]) => route,
      ),
    );
    expect([...labels].sort()).toEqual(
      [
        "/",
        "/nix-cache-info",
        "/health",
        "/version",
        "/status",
        "/<hash>.narinfo",
        "/<hash>.ls",
        "unmatched",
      ].sort(),
    );
    const paths = readmeEndpoints();
    for (const label of labels)
      if (label !== "unmatched") expect(paths.has(label ?? "")).toBe(true);
  });
});
