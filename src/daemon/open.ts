// The app and its store tasks, opened together and closed together: what a process that serves
// (daemon/serving.ts) and a cluster's primary (daemon/run.ts) both start with.

import type { Registry } from "prom-client";
import { clockFromEnv } from "../clock.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";
import { createStoreMetrics } from "../metrics/store-metrics.ts";
import { openApp, type App, type AppOptions } from "./app.ts";
import { startStoreTasks, type StoreTasks } from "./store-tasks.ts";
import { watchExposure } from "../exposure/index.ts";

export interface OpenedApp {
  readonly app: App;
  readonly tasks: StoreTasks;
  /** The store tasks are watching, and the served set (`[exposure]`) is computed. */
  readonly ready: Promise<void>;
  /** Stops the store tasks, then closes the app. */
  close(): Promise<void>;
}

export interface OpenOptions extends Omit<AppOptions, "clock"> {
  /** Keep this process's narinfo cache right as the store changes: a process that serves. */
  readonly watchNarInfoCache: boolean;
  /** Scan, pin and prune in this process, with the store metrics in this registry. */
  readonly monitorMetrics: Registry | undefined;
}

export function openAppAndTasks(config: Config, log: Logger, options: OpenOptions): OpenedApp {
  const { watchNarInfoCache, monitorMetrics, ...appOptions } = options;
  const clock = clockFromEnv();
  const app = openApp(config, log, { ...appOptions, clock });
  const tasks = startStoreTasks({
    config,
    log,
    narInfoCache: watchNarInfoCache ? app.services.narInfoCache : undefined,
    monitor:
      monitorMetrics === undefined
        ? undefined
        : {
            index: app.index,
            roots: app.roots,
            metrics: createStoreMetrics(monitorMetrics),
            registry: monitorMetrics,
            state: app.state?.database,
            clock,
          },
  });
  // A push that lands here is seen at once, not only when the database watch reports it.
  app.services.uploads?.onLanded(() => {
    tasks.storeChanged();
  });
  // Each serving process holds the served set its lookups ask, and keeps it current.
  const exposureWatch =
    app.exposure === undefined || !watchNarInfoCache
      ? undefined
      : watchExposure(app.exposure, {
          dbPath: config.nix_db_path,
          pinsDir: config.exposure.only_closures_of.includes("pins")
            ? config.gcroots.dir
            : undefined,
          log,
        });
  return {
    app,
    tasks,
    ready: Promise.all([tasks.ready, exposureWatch?.ready]).then(() => undefined),
    close: async () => {
      await tasks.close();
      await exposureWatch?.close();
      app.close();
    },
  };
}
