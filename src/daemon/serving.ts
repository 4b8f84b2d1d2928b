// The app served on each listen target: what one process (the only one, or a cluster worker)
// runs, and how it stops. Beside the servers: the metrics (aggregated by the primary in a
// cluster), the store watches that keep the narinfo cache right, and, in the process that
// owns them, the store monitor, the auto-pinning and the pruning.

import { Server as HttpsServer } from "node:https";
import type { App } from "./app.ts";
import { openAppAndTasks } from "./open.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";
import {
  clusterMetricsText,
  reportMetricsAddress,
  setupWorkerMetrics,
} from "../metrics/cluster-metrics.ts";
import { createMetrics, type Metrics } from "../metrics/metrics.ts";
import { closeGracefully } from "../process/shutdown.ts";
import { createRequestHandler } from "../http/handler.ts";
import { createServer, listen, loadTlsCredentials } from "../http/listen.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import { metricsRoutes, routes, statusRoutes } from "../http/routes/index.ts";
import { uploadRoutes } from "../http/routes/uploads.ts";

export interface Serving {
  /** The keys and tokens in use; replaced by `reload`. */
  readonly services: App["services"];
  /**
   * SIGHUP (process/reload.ts): loads the key, token and TLS files of `config` and, only if
   * all of them load, puts them in place for new requests and TLS handshakes; connections and
   * responses in flight go on. Throws a ConfigError naming the file otherwise.
   */
  reload(config: Config): void;
  /** Where the servers listen, for people to read, one per target. */
  readonly addresses: readonly string[];
  /** Where `/metrics` listens alone (`[metrics] bind`), if it does. */
  readonly metricsAddress: string | undefined;
  /** Stops accepting, lets running responses finish within `shutdown_timeout`, closes the app. */
  stop(): Promise<void>;
}

export interface ServingRole {
  /** A cluster worker: its metrics are collected by the primary, which answers /metrics. */
  readonly clusterWorker: boolean;
  /** This process scans the store, pins new paths, prunes and keeps the store metrics. */
  readonly monitor: boolean;
}

function metricsFor(role: ServingRole): Metrics {
  const metrics = createMetrics();
  if (!role.clusterWorker) return metrics;
  setupWorkerMetrics(metrics.registry);
  return { ...metrics, text: clusterMetricsText };
}

export async function startServing(
  config: Config,
  targets: readonly ListenTarget[],
  log: Logger,
  role: ServingRole = { clusterWorker: false, monitor: true },
): Promise<Serving> {
  const tls = loadTlsCredentials(config);
  const metrics = metricsFor(role);
  const opened = openAppAndTasks(config, log, {
    metrics,
    checkedByPrimary: role.clusterWorker,
    watchNarInfoCache: true,
    monitorMetrics: role.monitor ? metrics.registry : undefined,
  });
  const { app } = opened;
  const metricsTarget = config.metrics.enable ? config.metricsListen : undefined;
  const metricsOnMain = config.metrics.enable && metricsTarget === undefined;
  // Without [push], the upload routes are absent: a PUT is answered as before they existed.
  // Without [status], /status and /status.json are absent: 404s like any unknown path.
  const served = [
    ...routes,
    ...(config.status.enable ? statusRoutes : []),
    ...(config.push.enable ? uploadRoutes : []),
  ];
  const handler = createRequestHandler(
    metricsOnMain ? [...served, ...metricsRoutes] : served,
    app.services,
  );
  const timeouts = {
    requestHeaderMs: config.request_header_timeout * 1000,
    idleMs: config.idle_timeout * 1000,
  };
  const limit = {
    max: config.max_connections,
    refused: () => {
      metrics.connectionsRefused.inc();
    },
  };
  const listeners = targets.map((target) => ({
    target,
    server: createServer(handler, tls, timeouts, limit),
  }));
  // Plain HTTP: scrapers usually sit on a private network or on localhost.
  const metricsListener =
    metricsTarget === undefined
      ? undefined
      : {
          target: metricsTarget,
          server: createServer(
            createRequestHandler(metricsRoutes, app.services),
            undefined,
            timeouts,
          ),
        };
  const servers = [...listeners, ...(metricsListener === undefined ? [] : [metricsListener])].map(
    ({ server }) => server,
  );
  try {
    await opened.ready;
    const addresses = await Promise.all(
      listeners.map(({ server, target }) => listen(server, target)),
    );
    const metricsAddress =
      metricsListener === undefined
        ? undefined
        : await listen(metricsListener.server, metricsListener.target, "metrics.bind");
    if (role.clusterWorker && metricsAddress !== undefined) reportMetricsAddress(metricsAddress);
    return {
      services: app.services,
      reload: (next) => {
        const nextTls = tls === undefined ? undefined : loadTlsCredentials(next);
        app.reloadCredentials(next);
        if (nextTls === undefined) return;
        for (const { server } of listeners) {
          if (server instanceof HttpsServer) server.setSecureContext(nextTls);
        }
      },
      addresses,
      metricsAddress,
      stop: async () => {
        await Promise.all(
          servers.map((server) => closeGracefully(server, config.shutdown_timeout * 1000)),
        );
        await opened.close();
      },
    };
  } catch (error) {
    for (const server of servers) server.close();
    await opened.close();
    throw error;
  }
}
