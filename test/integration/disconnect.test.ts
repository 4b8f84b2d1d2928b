// A client that goes away stops the disk reads for its download at once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesRead, readsSettled } from "../support/disk-reads.ts";
import { get, narUrlOf, takeAndHangUp } from "../support/http.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

describe.skipIf(!hasNix)("a client that disconnects", () => {
  const built = builtStore(STORE_NIX, ["big"]);
  let serving: StoreServer;
  let narUrl: string;

  beforeAll(async () => {
    // One process, so that its reads are the server's reads (with workers, a worker reads).
    serving = await serveTestStore(built.store);
    narUrl = await narUrlOf(serving.server, built.paths.get("big") ?? "");
  });
  afterAll(async () => {
    await serving.stop();
  });

  it("makes the server stop reading the NAR's files", async () => {
    const { server } = serving;
    const pid = server.child.pid ?? 0;
    const before = bytesRead(pid);
    // Take a little, then hang up and stop reading.
    await takeAndHangUp(narUrl, { bytes: 1 << 20 });
    // Give the server time to notice; then its reads must have stopped far short of 64 MiB.
    const current = await readsSettled(pid);
    expect(current - before).toBeLessThan(24 << 20);
    // And it still answers.
    expect((await get(server.url, "/health")).status).toBe(200);
  });
});
