// Tarballs and /serve files cut by their clients close their files at once: none is left open
// for the garbage collector to close ("Closing file descriptor N on garbage collection", which
// Node says will throw in future releases).

import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDescriptors, requestAndHangUp, runLimited } from "../support/hang-up.ts";
import { get } from "../support/http.ts";
import { FIXTURES, hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

describe.skipIf(!hasNix)("tarballs and /serve files cut by the client", () => {
  let store: TestStore;
  let server: RunningServer;
  let big = "";

  beforeAll(async () => {
    store = makeTestStore();
    big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    const dir = tempDir("storefront-cut-");
    server = await startServer(dir, `bind = "127.0.0.1:0"\nworkers = 1\n${store.configLine}`);
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("close their files themselves, whenever the client goes", async () => {
    const pid = server.child.pid ?? 0;
    const paths = [`/${basename(big).slice(0, 32)}.tar`, `/serve/${basename(big)}/blob`];
    for (const path of paths) await get(server.url, path);
    const baseline = openDescriptors(pid);
    const tasks: (() => Promise<void>)[] = [];
    for (let i = 0; i < 200; i += 1) {
      const path = paths[i % 2] ?? "";
      // From the first bytes to a few MiB in: before, between and after the file's reads.
      const moment = { kind: "mid-body", bytes: 1 + ((i * 37_813) % (4 << 20)) } as const;
      tasks.push(() => requestAndHangUp(server.port, path, {}, moment, i % 3 === 0));
    }
    await runLimited(tasks, 16);
    await waitFor(() => openDescriptors(pid) <= baseline, "the files to be closed", 15_000).catch(
      () => undefined,
    );
    expect(openDescriptors(pid)).toBeLessThanOrEqual(baseline);
    // Memory churn from more downloads gives the collector its chance to find what was left.
    for (let i = 0; i < 4; i += 1) await get(server.url, paths[i % 2] ?? "");
    expect(server.stderr()).not.toMatch(/garbage collection/);
    expect(server.stderr()).not.toMatch(/^error/m);
  });
});
