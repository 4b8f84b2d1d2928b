// When the files on disk stop matching the database, a download is cut, never completed with
// wrong bytes; a path whose files are gone is a 404.

import { execFileSync } from "node:child_process";
import { rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { get, httpRequest, narUrlOf } from "../support/http.ts";
import { hasNix, STORE_NIX } from "../support/nix.ts";
import { servedStore } from "../support/server.ts";

describe.skipIf(!hasNix)("files that no longer match the database", () => {
  const served = servedStore(STORE_NIX, ["tree", "lib", "topFile"]);

  it("cuts a download mid-body when a file shrank", async () => {
    const tree = served.store.realPath(served.paths.get("tree") ?? "");
    const url = await narUrlOf(served.server, served.paths.get("tree") ?? "");
    execFileSync("chmod", ["-R", "u+w", tree]);
    // This file comes after a 1 MB one in NAR order, so the first chunks are out already.
    truncateSync(join(tree, "sub/with space"), 0);

    const response = await httpRequest(url);
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    expect(response.body.length).toBeLessThan(Number(response.headers["content-length"]));
  });

  it("cuts the connection before any response when a small path's file grew", async () => {
    const lib = served.store.realPath(served.paths.get("lib") ?? "");
    const url = await narUrlOf(served.server, served.paths.get("lib") ?? "");
    execFileSync("chmod", ["-R", "u+w", lib]);
    writeFileSync(join(lib, "lib/data"), "library, and then some more\n");
    // The whole NAR fits in one chunk, so the cut comes before the status line went out: the
    // client sees the connection close with no response, which Nix treats as a failed download.
    await expect(httpRequest(url)).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("answers 404 when the path's files are gone", async () => {
    const url = await narUrlOf(served.server, served.paths.get("topFile") ?? "");
    rmSync(served.store.realPath(served.paths.get("topFile") ?? ""), { force: true });
    const response = await httpRequest(url);
    expect(response.status).toBe(404);
    expect(response.body.toString()).toBe("not found\n");
  });

  it("keeps serving other requests afterwards", async () => {
    expect((await get(served.server.url, "/nix-cache-info")).status).toBe(200);
    expect(served.server.child.exitCode).toBeNull();
  });
});
