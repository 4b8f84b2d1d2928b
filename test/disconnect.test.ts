// A client that goes away stops the disk reads for its download at once.

import { readFileSync } from "node:fs";
import { request } from "node:http";
import { tempDir } from "./support/temp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "./support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import { startServer, type RunningServer } from "./support/server.ts";

const FIXTURE = new URL("fixtures/store.nix", import.meta.url).pathname;

/** Bytes the process has read through read(2) and friends, from /proc/<pid>/io. */
function bytesRead(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1]);
}

describe.skipIf(!hasNix)("a client that disconnects", () => {
  let store: TestStore;
  let server: RunningServer;
  let narUrl: string;

  beforeAll(async () => {
    store = makeTestStore();
    const storePath = nixBuild(store, FIXTURE, ["big"]).get("big") ?? "";
    const dir = tempDir("storefront-disconnect-");
    // One process, so that its reads are the server's reads (with workers, a worker reads).
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 1\nreal_nix_store = "${store.realStoreDir}"\n`,
    );
    const hash = storePath.slice("/nix/store/".length, "/nix/store/".length + 32);
    const narinfo = (await get(server.url, `/${hash}.narinfo`)).body.toString();
    narUrl = "/" + (/^URL: (.*)$/m.exec(narinfo)?.[1] ?? "");
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("makes the server stop reading the NAR's files", async () => {
    const pid = server.process.pid ?? 0;
    const before = bytesRead(pid);
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}${narUrl}`, (res) => {
        let received = 0;
        res.on("data", (chunk: Buffer) => {
          received += chunk.length;
          // Take a little, then hang up and stop reading.
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
    // Give the server time to notice; then its reads must have stopped far short of 64 MiB.
    let previous = -1;
    let current = bytesRead(pid);
    while (current !== previous) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      previous = current;
      current = bytesRead(pid);
    }
    expect(current - before).toBeLessThan(24 << 20);
    // And it still answers.
    expect((await get(server.url, "/health")).status).toBe(200);
  });
});
