// How a storefront runs once its config is read: in this one process, or as a cluster's primary
// with its workers (`workers = N`). The command line (cli/serve.ts) reads the options and the
// config, takes systemd's sockets and picks one of these.

import { Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import { loadTlsCredentials } from "../http/listen.ts";
import type { Logger } from "../log.ts";
import { primaryMetricsHandlers } from "../metrics/cluster-metrics.ts";
import { runPrimary, runWorker } from "../process/cluster.ts";
import { applyReload, reloadedConfig, type ReloadSignal } from "../process/reload.ts";
import { onShutdownSignal } from "../process/shutdown.ts";
import { openAppAndTasks } from "./open.ts";
import { claimPort } from "./claim-port.ts";
import { processMetricsText } from "../metrics/thread-metrics.ts";
import { ServingThreads, threadShare } from "../process/threads.ts";

/**
 * The request-serving modules (routes, HTTP, compression, their libraries), imported only in a
 * process that serves: a cluster's primary does not (they cost it ~6 MiB without the compile
 * cache), except where src/bin.js loaded them to see that they are compiled (~3 MiB).
 */
function importServing(): Promise<typeof import("./serving.ts")> {
  return import("./serving.ts");
}

/** A cluster worker: serves what its primary orders, with its metrics collected by the primary. */
export function serveAsWorker(log: Logger): Promise<number> {
  // The primary watches the store for pins and store metrics; workers keep their own narinfo
  // caches right and report their metrics to it.
  return runWorker(log, async (config, targets) => {
    const { startServing } = await importServing();
    return startServing(config, targets, log, { clusterWorker: true, monitor: false });
  });
}

/** What either way of serving (one process, or a cluster) is given. */
export interface ServeRun {
  readonly config: Config;
  readonly targets: readonly ListenTarget[];
  readonly log: Logger;
  /** Logs where it listens and tells systemd it is ready; called once. */
  readonly announce: (addresses: readonly string[]) => void;
  /** Called once, when shutdown begins. */
  readonly onStopping: () => void;
  /** Where SIGHUP is handled; and how the config is read again for it. */
  readonly reloadSignal: ReloadSignal;
  readonly readConfig: () => Config;
}

/** Where `[metrics] bind` listens, said once, after "listening on". */
function announceMetrics(log: Logger, address: string): void {
  log.info(`metrics listening on ${address}`);
}

export async function serveInThisProcess({
  config,
  targets,
  log,
  announce,
  onStopping,
  reloadSignal,
  readConfig,
}: ServeRun): Promise<number> {
  // The handler goes in before "listening" is announced: whoever reads that line may signal at
  // once. A signal that comes while starting stops the server as soon as it is up.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onShutdownSignal(resolve);
  });
  const { startServing } = await importServing();
  const shared = targets.filter((target) => target.kind === "tcp");
  if (config.threads > 1 && shared.length < targets.length) {
    log.info("a unix socket or a socket from systemd is served by the main thread alone", {
      threads: config.threads,
    });
  }
  const threaded = config.threads > 1 && shared.length > 0;
  // The ports are chosen (port 0) and checked (in use) before any thread binds them.
  const bound = threaded ? await Promise.all(targets.map(claimPort)) : targets;
  let threads: ServingThreads | undefined;
  const serving = await startServing(
    threaded ? threadShare(config, config.threads) : config,
    bound,
    log,
    {
      clusterWorker: false,
      monitor: true,
      reusePort: threaded,
      metricsText: threaded
        ? (registry) => () =>
            processMetricsText(registry, () => threads?.registries() ?? Promise.resolve([]))
        : undefined,
    },
  );
  if (threaded) {
    const started = new ServingThreads({
      entry: new URL("../thread.js", import.meta.url),
      count: config.threads - 1,
      config,
      targets: bound.filter((target) => target.kind === "tcp"),
      log,
      metricsText: () => serving.services.metrics.text(),
    });
    threads = started;
    try {
      await started.start();
    } catch (error) {
      await serving.stop();
      throw error;
    }
  }
  let running = config;
  reloadSignal.handle(() => {
    const next = reloadedConfig(running, readConfig, log);
    if (next === undefined || !applyReload(serving, next, log)) return;
    running = next;
    // The main thread loaded every file: the threads load the same.
    threads?.reload(next);
  });
  announce(serving.addresses);
  if (serving.metricsAddress !== undefined) announceMetrics(log, serving.metricsAddress);
  const signal = await signalled;
  log.info("shutting down", { signal });
  onStopping();
  await Promise.all([serving.stop(), threads?.stop()]);
  return 0;
}

export async function serveWithWorkers(run: ServeRun): Promise<number> {
  const { config, log, announce, readConfig } = run;
  // What would make every worker fail is checked here, once, for one clear message.
  loadTlsCredentials(config);
  // The workers open the compressed-NAR cache each; the primary serves nothing from it. It
  // watches the store, pins and prunes, once for all workers; its store metrics join the
  // workers' in every scrape.
  const ownMetrics = new Registry();
  const opened = openAppAndTasks(config, log, {
    narCache: false,
    watchNarInfoCache: false,
    monitorMetrics: ownMetrics,
  });
  const { app, tasks } = opened;
  // Workers report where `[metrics] bind` listens; it is announced once, after "listening on".
  let metricsAddress: string | undefined;
  let ready = false;
  try {
    await tasks.ready;
    return await runPrimary({
      config,
      targets: run.targets,
      log,
      onReady: (addresses) => {
        announce(addresses);
        ready = true;
        if (metricsAddress !== undefined) announceMetrics(log, metricsAddress);
      },
      onStopping: run.onStopping,
      reloadSignal: run.reloadSignal,
      // The primary reads the files first: a problem is logged once, and no worker is asked to
      // load what would fail. Its own copy of the keys signs nothing.
      reload: (running) => {
        const next = reloadedConfig(running, readConfig, log);
        const checked = {
          services: app.services,
          reload: (config: Config) => {
            loadTlsCredentials(config);
            app.reloadCredentials(config);
          },
        };
        return next !== undefined && applyReload(checked, next, log) ? next : undefined;
      },
      messageHandlers: primaryMetricsHandlers(ownMetrics, (address) => {
        if (metricsAddress !== undefined) return;
        metricsAddress = address;
        if (ready) announceMetrics(log, address);
      }),
    });
  } finally {
    await opened.close();
  }
}
