import cluster from "node:cluster";
import { Registry } from "prom-client";
import { openApp } from "../app.ts";
import { clockFromEnv } from "../clock.ts";
import { loadConfig, type Config } from "../config.ts";
import { loadTlsCredentials, removeStaleSocket, type ListenTarget } from "../http/listen.ts";
import type { Logger } from "../log.ts";
import { primaryMetricsHandlers } from "../metrics/cluster-metrics.ts";
import { createStoreMetrics } from "../metrics/store-metrics.ts";
import { importServing, runPrimary, runWorker } from "../process/cluster.ts";
import {
  catchReloadSignal,
  applyReload,
  reloadedConfig,
  type ReloadSignal,
} from "../process/reload.ts";
import { onShutdownSignal } from "../process/shutdown.ts";
import { createSystemdNotifier, takeActivatedSockets } from "../process/systemd.ts";
import { checkListenAddresses } from "./bind-check.ts";
import { checkConfig } from "./check-config.ts";
import { startStoreTasks } from "../store-tasks.ts";
import { logStartUpHints } from "./start-up-hints.ts";
import { HELP_ROW, helpRows, parseCommandArgs } from "./usage.ts";

export const serveHelp = `Usage: storefront serve [--config FILE] [--bind ADDRESS] [--sign-key-path FILE]... [--check-config]

Serve the Nix store as a binary cache. An option wins over the environment, which wins over
the config file, which wins over the defaults; key files from all of them are used.

Options:
${helpRows([
  ["--config FILE", "TOML config file (default: $CONFIG_FILE, else built-in defaults)"],
  [
    "--bind ADDRESS",
    'where to listen, in place of "bind": host:port, [v6]:port or\nunix:/path (default: [::]:5000)',
  ],
  ["--sign-key-path FILE", "a secret key file, added to sign_key_paths; may be repeated"],
  [
    "--check-config",
    "check the config, open the database, load the keys, print a summary\nand exit (0 when all is well, 1 with a message naming the key or file)",
  ],
  HELP_ROW,
])}

Environment:
${helpRows([
  ["CONFIG_FILE", "config file, when --config is not given"],
  ["SIGN_KEY_PATHS", "secret key files, space-separated, added to sign_key_paths"],
  ["NIX_SECRET_KEY_FILE", "one more secret key file (nix-serve's variable)"],
  [
    "ADMIN_TOKEN_PATHS",
    "admin token files (every scope), space-separated, added to admin_token_paths",
  ],
  ["LISTEN_FDS, LISTEN_PID", 'sockets passed by systemd (socket activation); they win over "bind"'],
  ["NOTIFY_SOCKET, WATCHDOG_USEC", "systemd readiness and watchdog notification (Type=notify)"],
])}`;

export async function serveCommand(args: string[], log: Logger): Promise<number> {
  // A cluster worker takes its config and sockets from the primary, which checked them.
  if (cluster.isWorker) return runWorker(log);

  const { values } = parseCommandArgs(
    {
      args,
      options: {
        config: { type: "string" },
        bind: { type: "string" },
        "sign-key-path": { type: "string", multiple: true },
        "check-config": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    },
    serveHelp,
  );
  if (values.help === true) {
    process.stdout.write(serveHelp + "\n");
    return 0;
  }
  const readConfig = (): Config =>
    loadConfig(values.config, process.env, {
      bind: values.bind,
      signKeyPaths: values["sign-key-path"] ?? [],
    });
  const config = readConfig();
  if (values["check-config"] === true) {
    await checkListenAddresses(config);
    return checkConfig(config, log);
  }
  // Before anything that takes time: a SIGHUP must never end the daemon.
  const reloadSignal = catchReloadSignal(log);
  // Sockets from systemd win over `bind`.
  const activated = takeActivatedSockets();
  const targets: readonly ListenTarget[] =
    activated.length > 0 ? activated.map((fd) => ({ kind: "fd", fd })) : [config.listen];
  const notifier = createSystemdNotifier(log);
  for (const target of targets) removeStaleSocket(target);

  const run: ServeRun = {
    config,
    targets,
    log,
    announce: (addresses) => {
      for (const address of addresses) {
        log.info(`listening on ${address}`, {
          store: config.virtual_nix_store,
          keys: config.sign_key_paths.length,
          tls: config.tls_cert_path !== undefined,
          workers: config.workers,
          socket_activation: activated.length > 0,
        });
      }
      notifier.ready();
      logStartUpHints(config, log);
    },
    onStopping: () => {
      notifier.stopping();
    },
    reloadSignal,
    readConfig,
  };
  const code = config.workers === 1 ? await serveInThisProcess(run) : await serveWithWorkers(run);
  await notifier.flushed();
  return code;
}

/** What either way of serving (one process, or a cluster) is given. */
interface ServeRun {
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

async function serveInThisProcess({
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
  const serving = await startServing(config, targets, log);
  let running = config;
  reloadSignal.handle(() => {
    const next = reloadedConfig(running, readConfig, log);
    if (next !== undefined && applyReload(serving, next, log)) running = next;
  });
  announce(serving.addresses);
  if (serving.metricsAddress !== undefined) announceMetrics(log, serving.metricsAddress);
  const signal = await signalled;
  log.info("shutting down", { signal });
  onStopping();
  await serving.stop();
  return 0;
}

async function serveWithWorkers({
  config,
  targets,
  log,
  announce,
  onStopping,
  reloadSignal,
  readConfig,
}: ServeRun): Promise<number> {
  // What would make every worker fail is checked here, once, for one clear message.
  loadTlsCredentials(config);
  // The workers open the compressed-NAR cache each; the primary serves nothing from it. It
  // watches the store, pins and prunes, once for all workers; its store metrics join the
  // workers' in every scrape.
  const ownMetrics = new Registry();
  const app = openApp(config, log, { narCache: false, clock: clockFromEnv() });
  const tasks = startStoreTasks({
    config,
    log,
    narInfoCache: undefined,
    monitor: { index: app.index, roots: app.roots, metrics: createStoreMetrics(ownMetrics) },
  });
  // Workers report where `[metrics] bind` listens; it is announced once, after "listening on".
  let metricsAddress: string | undefined;
  let ready = false;
  try {
    await tasks.ready;
    return await runPrimary({
      config,
      targets,
      log,
      onReady: (addresses) => {
        announce(addresses);
        ready = true;
        if (metricsAddress !== undefined) announceMetrics(log, metricsAddress);
      },
      onStopping,
      reloadSignal,
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
    await tasks.close();
    app.close();
  }
}
