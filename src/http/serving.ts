// The app served on each listen target: what one process (the only one, or a cluster worker)
// runs, and how it stops.

import { openApp } from "../app.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { closeGracefully } from "../process/shutdown.ts";
import { createRequestHandler } from "./handler.ts";
import {
  createServer,
  listen,
  loadTlsCredentials,
  tlsFilesOf,
  type ListenTarget,
} from "./listen.ts";
import { routes } from "./routes/index.ts";

export interface Serving {
  /** Where the servers listen, for people to read, one per target. */
  readonly addresses: readonly string[];
  /** Stops accepting, lets running responses finish within `shutdown_timeout`, closes the app. */
  stop(): Promise<void>;
}

export async function startServing(
  config: Config,
  targets: readonly ListenTarget[],
  log: Logger,
): Promise<Serving> {
  const tlsFiles = tlsFilesOf(config);
  const tls = tlsFiles === undefined ? undefined : loadTlsCredentials(tlsFiles);
  const app = openApp(config, log);
  const handler = createRequestHandler(routes, app.services);
  const timeouts = {
    requestHeaderMs: config.request_header_timeout * 1000,
    idleMs: config.idle_timeout * 1000,
  };
  const listeners = targets.map((target) => ({
    target,
    server: createServer(handler, tls, timeouts),
  }));
  const servers = listeners.map(({ server }) => server);
  try {
    const addresses = await Promise.all(
      listeners.map(({ server, target }) => listen(server, target)),
    );
    return {
      addresses,
      stop: async () => {
        await Promise.all(
          servers.map((server) => closeGracefully(server, config.shutdown_timeout * 1000)),
        );
        app.close();
      },
    };
  } catch (error) {
    for (const server of servers) server.close();
    app.close();
    throw error;
  }
}
