// A client that goes away from a compressed download or a tarball stops the disk reads too,
// and the server says nothing about it in its log: a hang-up is no error of storefront's.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readsSettled } from "../support/disk-reads.ts";
import { get, narUrlOf, takeAndHangUp } from "../support/http.ts";
import { builtStore, FIXTURES, hasNix, hashOf } from "../support/nix.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

describe.skipIf(!hasNix)("a client that leaves a compressed download or a tarball", () => {
  // 24 MiB of random bytes: they do not compress, so backpressure reaches the disk reads.
  const built = builtStore(join(FIXTURES, "big.nix"), ["big"]);
  let serving: StoreServer;

  beforeAll(async () => {
    // One process, so that its reads are the server's reads (with workers, a worker reads).
    serving = await serveTestStore(built.store);
  });
  afterAll(async () => {
    await serving.stop();
  });

  it("stops reading the files, whatever the form of the download", async () => {
    const { server } = serving;
    const pid = server.child.pid ?? 0;
    const storePath = built.paths.get("big") ?? "";
    const nar = await narUrlOf(server, storePath);
    const tar = `${server.url}/${hashOf(storePath)}.tar`;
    for (const [url, headers] of [
      [nar, { "accept-encoding": "zstd" }],
      // Compressed as it goes out: a client that takes no NAR as it is.
      [nar, { "accept-encoding": "zstd, identity;q=0" }],
      [nar, { "accept-encoding": "gzip" }],
      [tar, {}],
      [tar, { "accept-encoding": "zstd" }],
    ] as const) {
      const before = await readsSettled(pid);
      await takeAndHangUp(url, { headers, bytes: 1 << 20 });
      const after = await readsSettled(pid);
      expect(after - before, `${url} ${JSON.stringify(headers)}`).toBeLessThan(12 << 20);
    }
    expect((await get(server.url, "/health")).status).toBe(200);
    expect(server.stderr()).not.toMatch(/^error/m);
  });
});
