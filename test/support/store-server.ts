// storefront serving a test store: one worker on a free loopback port, with its config in a
// temporary directory that goes away with the server.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestStore } from "./nix.ts";
import { startServer, type RunningServer } from "./server.ts";

export interface StoreServer {
  readonly server: RunningServer;
  readonly port: number;
  stop(): Promise<void>;
}

export async function serveTestStore(store: TestStore, extraToml = ""): Promise<StoreServer> {
  const dir = mkdtempSync(join(tmpdir(), "storefront-config-"));
  const toml = [
    'bind = "127.0.0.1:0"',
    "workers = 1",
    `real_nix_store = ${JSON.stringify(store.realStoreDir)}`,
    extraToml,
  ].join("\n");
  const server = await startServer(dir, toml);
  return {
    server,
    port: server.port,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
