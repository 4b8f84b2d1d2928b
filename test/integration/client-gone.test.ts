// Clients that go away at any moment of a request's life (right after sending it, while the
// server opens the compressed cache's temporary file, mid-body), on every route that streams
// and in every encoding: the server lets go of everything they held. Streams in flight come
// back to 0, descriptors and temporary files to what they were, no descriptor is left for the
// garbage collector to close, and nothing is logged as an error.

import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  openDescriptors,
  requestAndHangUp,
  runLimited,
  tempFilesIn,
  type HangUpMoment,
} from "../support/hang-up.ts";
import { get, narUrlOf } from "../support/http.ts";
import { parseMetrics, sumOf } from "../support/metrics.ts";
import {
  FIXTURES,
  STORE_NIX,
  hasNix,
  makeTestStore,
  nixBuild,
  type TestStore,
} from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

interface Target {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

describe.skipIf(!hasNix)("clients that go away at any moment", () => {
  let store: TestStore;
  let server: RunningServer;
  let cacheDir: string;
  const targets: Target[] = [];

  beforeAll(async () => {
    store = makeTestStore();
    // 24 MiB of random bytes: they do not compress, so a compressed download is held up by its
    // client as a plain one is; and a tree with every kind of entry.
    const big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    const tree = nixBuild(store, STORE_NIX, ["tree"]).get("tree") ?? "";
    const dir = tempDir("storefront-client-gone-");
    cacheDir = join(dir, "nars");
    server = await startServer(dir, `bind = "127.0.0.1:0"\nworkers = 1\n${store.configLine}`);
    const bigNar = new URL(await narUrlOf(server, big));
    const treeNar = new URL(await narUrlOf(server, tree));
    const bigHash = basename(big).slice(0, 32);
    const treeHash = basename(tree).slice(0, 32);
    const encodings = ["identity", "zstd", "gzip", "br"];
    for (const encoding of encodings) {
      const headers = { "accept-encoding": encoding };
      targets.push(
        { path: bigNar.pathname + bigNar.search, headers },
        { path: treeNar.pathname + treeNar.search, headers },
        { path: `/${bigHash}.tar`, headers },
        { path: `/${treeHash}.ls`, headers },
      );
    }
    targets.push(
      { path: bigNar.pathname + bigNar.search, headers: { range: "bytes=1000-" } },
      { path: `/serve/${basename(big)}/blob`, headers: {} },
      { path: `/serve/${basename(tree)}/sub/`, headers: {} },
      { path: `/${bigHash}.narinfo`, headers: {} },
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("lets go of every stream, descriptor and temporary file", async () => {
    const pid = server.child.pid ?? 0;
    // Whatever a process opens once and keeps (the database, the cache directory) is opened by
    // a first round of whole requests; what stays open after that is the baseline.
    for (const target of targets) {
      if (target.headers["accept-encoding"] === "zstd" && target.path.startsWith("/nar/")) {
        continue; // Kept uncached, so that every zstd NAR request opens a temporary file.
      }
      await get(server.url, target.path, { headers: { ...target.headers } });
    }
    const baseline = openDescriptors(pid);

    const moments: HangUpMoment[] = [
      { kind: "at-once" },
      { kind: "after", ms: 0 },
      { kind: "after", ms: 1 },
      { kind: "after", ms: 3 },
      { kind: "mid-body", bytes: 1 },
      { kind: "mid-body", bytes: 200_000 },
    ];
    const tasks: (() => Promise<void>)[] = [];
    for (let round = 0; round < 3; round += 1) {
      for (const target of targets) {
        for (const moment of moments) {
          const reset = (tasks.length & 1) === 1;
          tasks.push(() =>
            requestAndHangUp(server.port, target.path, target.headers, moment, reset),
          );
        }
      }
    }
    expect(tasks.length).toBeGreaterThanOrEqual(300);
    await runLimited(tasks, 24);

    const inFlight = async (): Promise<number> =>
      sumOf(
        parseMetrics((await get(server.url, "/metrics")).body.toString()),
        "storefront_nar_streams_in_flight",
      );
    // The server notices each hang-up on its own time: wait for it, within seconds.
    await waitFor(
      async () =>
        (await inFlight()) === 0 &&
        openDescriptors(pid) <= baseline &&
        tempFilesIn(cacheDir).length === 0,
      "the server to let go of what the clients held",
      20_000,
    ).catch(() => undefined);
    expect(await inFlight()).toBe(0);
    expect(openDescriptors(pid)).toBeLessThanOrEqual(baseline);
    expect(tempFilesIn(cacheDir)).toEqual([]);
    // Still serving, and still caching: a zstd NAR is written to the cache as before.
    expect((await get(server.url, "/health")).status).toBe(200);
    const log = server.stderr();
    expect(log).not.toMatch(/garbage collection/);
    expect(log).not.toMatch(/^error/m);
  });
});
