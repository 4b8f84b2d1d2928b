// HEAD on every GET route of the table: the status and headers a GET gets, and no body. The
// route table is walked, so a new GET route without a sample URL here fails the test.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { metricsRoutes, routes } from "../../src/http/routes/index.ts";
import { get, type RawResponse } from "../support/http.ts";
import { baseNameOf, hashOf, hasNix, STORE_NIX } from "../support/nix.ts";
import { servedStore } from "../support/server.ts";

const PLAIN_DRV = "0123456789abcdfghijklmnpqrsvwxyz-hand-written.drv";
const BZIP2_DRV = "1123456789abcdfghijklmnpqrsvwxyz-hand-written.drv";

/**
 * Headers that frame the message rather than describe the body: a GET of unknown length is
 * chunked, a HEAD has no body to chunk. `date` ticks.
 */
const FRAMING = new Set(["date", "transfer-encoding", "connection", "keep-alive"]);

function describedBy(response: RawResponse, path: string): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (FRAMING.has(name)) continue;
    // /metrics counts the request before it: its length changes from one request to the next.
    headers[name] = path === "/metrics" && name === "content-length" ? "a length" : value;
  }
  return headers;
}

describe.skipIf(!hasNix)("HEAD on every GET route", () => {
  const served = servedStore(STORE_NIX, ["tree", "topFile"]);
  /** Route name → URLs that reach it: found, missing, ranged, conditional. */
  let samples: Map<string, string[][]>;

  beforeAll(() => {
    const logDir = join(served.store.root, "nix/var/log/nix/drvs");
    for (const drv of [PLAIN_DRV, BZIP2_DRV])
      mkdirSync(join(logDir, drv.slice(0, 2)), { recursive: true });
    const text = "a log\n".repeat(1000);
    writeFileSync(join(logDir, PLAIN_DRV.slice(0, 2), PLAIN_DRV.slice(2)), text);
    writeFileSync(
      join(logDir, BZIP2_DRV.slice(0, 2), BZIP2_DRV.slice(2) + ".bz2"),
      execFileSync("bzip2", ["-c"], { input: text }),
    );
    const tree = served.paths.get("tree") ?? "";
    const hash = hashOf(tree);
    const missing = "0".repeat(32);
    samples = new Map([
      ["/", [["/"]]],
      ["/nix-cache-info", [["/nix-cache-info"]]],
      ["/<hash>.narinfo", [[`/${hash}.narinfo`], [`/${missing}.narinfo`]]],
      ["/<hash>.ls", [[`/${hash}.ls`], [`/${missing}.ls`], [`/${hash}.ls`, "bad etag"]]],
      ["/<hash>.tar", [[`/${hash}.tar`], [`/${missing}.tar`]]],
      [
        "/log/<drv>",
        [[`/log/${PLAIN_DRV}`], [`/log/${BZIP2_DRV}`], [`/log/${BZIP2_DRV}`, "bzip2"]],
      ],
      [
        "/serve/<hash>-<name>/<path>",
        [
          [`/serve/${baseNameOf(tree)}/`],
          [`/serve/${baseNameOf(tree)}`],
          [`/serve/${baseNameOf(served.paths.get("topFile") ?? "")}`],
          [`/serve/${missing}-x/`],
        ],
      ],
      ["/realisations/<id>.doi", [[`/realisations/sha256:${"0".repeat(64)}!out.doi`]]],
      ["/health", [["/health"]]],
      ["/version", [["/version"]]],
      ["/api/v1/pins", [["/api/v1/pins"]]],
      ["/api/v1/pins/<name>", [["/api/v1/pins/x"]]],
      ["/metrics", [["/metrics"]]],
    ]);
  });

  async function narSamples(): Promise<string[][]> {
    const hash = hashOf(served.paths.get("tree") ?? "");
    const narinfo = (await get(served.server.url, `/${hash}.narinfo`)).body.toString();
    const url = /^URL: (.*)$/m.exec(narinfo)?.[1] ?? "";
    const narHash = /nar\/([^.?]*)/.exec(url)?.[1] ?? "";
    return [
      [`/${url}`],
      [`/${url}`, "range"],
      [`/nar/${hash}.nar`],
      [`/nar/${hash}-${narHash}.nar`],
    ];
  }

  it("answers with GET's status and headers, and no body", async () => {
    const nars = await narSamples();
    const named = new Map([
      ...samples,
      ["/nar/<narhash>.nar", [nars[0] ?? [], nars[1] ?? []]],
      ["/nar/<outhash>.nar", [nars[2] ?? []]],
      ["/nar/<outhash>-<narhash>.nar", [nars[3] ?? []]],
    ]);
    const getRoutes = [...routes, ...metricsRoutes].filter((route) =>
      route.methods.includes("GET"),
    );
    expect(getRoutes.map((route) => route.name).filter((name) => !named.has(name))).toEqual([]);
    const statuses = new Set<number>();
    for (const route of getRoutes) {
      for (const [path = "", variant] of named.get(route.name) ?? []) {
        const headers: Record<string, string> =
          variant === "range"
            ? { range: "bytes=10-99" }
            : variant === "bzip2"
              ? { "accept-encoding": "bzip2" }
              : variant === "bad etag"
                ? { "if-none-match": '"not-this-one"' }
                : {};
        const whole = await get(served.server.url, path, { headers });
        const head = await get(served.server.url, path, { method: "HEAD", headers });
        expect({ path, variant, status: head.status }).toEqual({
          path,
          variant,
          status: whole.status,
        });
        expect(describedBy(head, path)).toEqual(describedBy(whole, path));
        expect(head.body.length).toBe(0);
        statuses.add(whole.status);
      }
    }
    // The samples reach bodies, not only errors.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 206, 301, 404]));
  });
});
