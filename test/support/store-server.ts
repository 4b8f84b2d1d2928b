// storefront serving a test store on a free loopback port, with its config in a temporary
// directory that goes away with the server.

import { afterAll, beforeAll } from "vitest";
import { builtStore, type BuiltStore, type TestStore } from "./nix.ts";
import { startServer, type RunningServer } from "./server.ts";
import { tempDir } from "./temp.ts";

export interface StoreServer {
  readonly server: RunningServer;
  readonly port: number;
  stop(): Promise<void>;
}

/** One worker, so that the test sees the one process's caches and reads. */
export async function serveTestStore(store: TestStore, extraToml = ""): Promise<StoreServer> {
  const dir = tempDir("storefront-config-");
  const toml = ['bind = "127.0.0.1:0"', "workers = 1", store.configLine + extraToml].join("\n");
  const server = await startServer(dir, toml);
  return {
    server,
    port: server.port,
    stop: async () => {
      await server.stop();
    },
  };
}

export interface ServedStore extends BuiltStore {
  readonly server: RunningServer;
}

/**
 * For a describe block: `attributes` of `file` built into a new store and served on a free
 * loopback port, with `toml` added to the config (storefront's default workers unless it sets
 * them), before its tests; server and store go after them.
 */
export function servedStore(file: string, attributes: readonly string[], toml = ""): ServedStore {
  const built = builtStore(file, attributes);
  let server: RunningServer | undefined;
  beforeAll(async () => {
    const dir = tempDir("storefront-served-");
    server = await startServer(dir, `bind = "127.0.0.1:0"\n${built.store.configLine}${toml}`);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get store() {
      return built.store;
    },
    get paths() {
      return built.paths;
    },
    get server() {
      if (server === undefined) throw new Error("the server is started before the tests");
      return server;
    },
  };
}
