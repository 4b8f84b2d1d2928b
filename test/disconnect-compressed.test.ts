// A client that goes away from a compressed download or a tarball stops the disk reads too,
// and the server says nothing about it in its log: a hang-up is no error of storefront's.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, narUrl } from "./support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import { startServer, type RunningServer } from "./support/server.ts";

const FIXTURES = new URL("fixtures/", import.meta.url).pathname;

/** Bytes the process has read through read(2) and friends, from /proc/<pid>/io. */
function bytesRead(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

/** Downloads `url` until 1 MiB has arrived, then hangs up. */
function takeAndHangUp(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 1 << 20) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
    req.end();
  });
}

async function readsSettled(pid: number): Promise<number> {
  let previous = -1;
  let current = bytesRead(pid);
  while (current !== previous) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    previous = current;
    current = bytesRead(pid);
  }
  return current;
}

describe.skipIf(!hasNix)("a client that leaves a compressed download or a tarball", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let hash: string;

  beforeAll(async () => {
    store = makeTestStore();
    dir = mkdtempSync(join(tmpdir(), "storefront-disconnect-compressed-"));
    // 24 MiB of random bytes: they do not compress, so backpressure reaches the disk reads.
    const storePath = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    hash = storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
    // One process, so that its reads are the server's reads (with workers, a worker reads).
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 1\nreal_nix_store = "${store.realStoreDir}"\n`,
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops reading the files, whatever the form of the download", async () => {
    const pid = server.process.pid ?? 0;
    const nar = await narUrl(server.url, hash);
    for (const [url, headers] of [
      [nar, { "accept-encoding": "zstd" }],
      [nar, { "accept-encoding": "gzip" }],
      [`${server.url}/${hash}.tar`, {}],
      [`${server.url}/${hash}.tar`, { "accept-encoding": "zstd" }],
    ] as const) {
      const before = await readsSettled(pid);
      await takeAndHangUp(url, headers);
      const after = await readsSettled(pid);
      expect(after - before, `${url} ${JSON.stringify(headers)}`).toBeLessThan(12 << 20);
    }
    expect((await get(server.url, "/health")).status).toBe(200);
    expect(server.log()).not.toMatch(/^error/m);
  });
});
