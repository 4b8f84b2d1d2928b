// When the files on disk stop matching the database, a download is cut, never completed with
// wrong bytes; a path whose files are gone is a 404.

import { execFileSync } from "node:child_process";
import { rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./support/temp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "./support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import { startServer, type RunningServer } from "./support/server.ts";

const FIXTURE = new URL("fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("files that no longer match the database", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let server: RunningServer;

  async function narUrlOf(storePath: string): Promise<string> {
    const hash = storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
    const narinfo = (await get(server.url, `/${hash}.narinfo`)).body.toString();
    return "/" + (/^URL: (.*)$/m.exec(narinfo)?.[1] ?? "");
  }

  beforeAll(async () => {
    store = makeTestStore();
    paths = nixBuild(store, FIXTURE, ["tree", "lib", "topFile"]);
    const dir = tempDir("storefront-changes-");
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n`,
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("cuts a download mid-body when a file shrank", async () => {
    const tree = store.realPath(paths.get("tree") ?? "");
    const url = await narUrlOf(paths.get("tree") ?? "");
    execFileSync("chmod", ["-R", "u+w", tree]);
    // This file comes after a 1 MB one in NAR order, so the first chunks are out already.
    truncateSync(join(tree, "sub/with space"), 0);

    const response = await get(server.url, url);
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    expect(response.body.length).toBeLessThan(Number(response.headers["content-length"]));
  });

  it("cuts the connection before any response when a small path's file grew", async () => {
    const lib = store.realPath(paths.get("lib") ?? "");
    const url = await narUrlOf(paths.get("lib") ?? "");
    execFileSync("chmod", ["-R", "u+w", lib]);
    writeFileSync(join(lib, "lib/data"), "library, and then some more\n");
    // The whole NAR fits in one chunk, so the cut comes before the status line went out: the
    // client sees the connection close with no response, which Nix treats as a failed download.
    await expect(get(server.url, url)).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("answers 404 when the path's files are gone", async () => {
    const url = await narUrlOf(paths.get("topFile") ?? "");
    rmSync(store.realPath(paths.get("topFile") ?? ""), { force: true });
    const response = await get(server.url, url);
    expect(response.status).toBe(404);
    expect(response.body.toString()).toBe("not found\n");
  });

  it("keeps serving other requests afterwards", async () => {
    expect((await get(server.url, "/nix-cache-info")).status).toBe(200);
    expect(server.process.exitCode).toBeNull();
  });
});
