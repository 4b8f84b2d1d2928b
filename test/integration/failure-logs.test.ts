// What the log says when a request fails for a reason that is no bug of storefront's: a client
// that goes away is not an error, and a store path that changes under a download is a case of
// its own, named as such.

import { spawnSync } from "node:child_process";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestAndHangUp, runLimited } from "../support/hang-up.ts";
import {
  FIXTURES,
  STORE_NIX,
  hasNix,
  makeTestStore,
  nixBuild,
  type TestStore,
} from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { slowDownload } from "../support/slow-client.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

describe.skipIf(!hasNix)("the log of failed requests", () => {
  let store: TestStore;
  let server: RunningServer;
  let big = "";
  let tree = "";

  beforeAll(async () => {
    store = makeTestStore();
    big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    tree = nixBuild(store, STORE_NIX, ["tree"]).get("tree") ?? "";
    const dir = tempDir("storefront-failure-logs-");
    server = await startServer(dir, `bind = "127.0.0.1:0"\nworkers = 1\n${store.configLine}`);
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("does not call a client that went away an error", async () => {
    const listing = `/${basename(tree).slice(0, 32)}.ls`;
    const tasks = Array.from(
      { length: 60 },
      (_, i) => () =>
        requestAndHangUp(
          server.port,
          listing,
          { "accept-encoding": "zstd" },
          { kind: "at-once" },
          i % 2 === 0,
        ),
    );
    await runLimited(tasks, 8);
    // Nothing to wait for but time: the server may notice the last hang-ups a little later.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(server.stderr()).not.toMatch(/^error/m);
    expect(server.stderr()).not.toMatch(/ERR_STREAM/);
  });

  it("names a store that changed under a download, and calls it no internal error", async () => {
    const download = slowDownload(`${server.url}/${basename(big).slice(0, 32)}.tar`, 4 << 20);
    await download.received(1 << 20);
    download.stall();
    // Gone while its big file is being read: the walk finds the rest missing.
    const realPath = store.realPath(big);
    spawnSync("chmod", ["-R", "u+w", realPath]);
    spawnSync("rm", ["-rf", realPath]);
    download.resume();
    const result = await download.done;
    expect(result.status).toBe(200);
    expect(result.complete).toBe(false);
    await waitFor(() => /store changed/.test(server.stderr()), "the log line", 15_000).catch(
      () => undefined,
    );
    expect(server.stderr()).toMatch(/^warn store changed under a request url=\/\S+\.tar /m);
    expect(server.stderr()).not.toMatch(/^error/m);
  });
});
