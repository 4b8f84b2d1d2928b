import { clockFromEnv } from "../clock.ts";
import { loadConfig } from "../config.ts";
import { openApp } from "../app.ts";
import { checkConfig } from "./check-config.ts";
import { formatListenAddress } from "../core/listen-address.ts";
import { createRequestHandler } from "../http/handler.ts";
import { createServer, listen } from "../http/listen.ts";
import { metricsRoutes, routes } from "../http/routes/index.ts";
import type { Logger } from "../log.ts";
import { createStoreMetrics } from "../metrics/store-metrics.ts";
import { startStoreTasks } from "../store-tasks.ts";
import { parseCommandArgs } from "./usage.ts";

export const serveHelp = `Usage: storefront serve [--config FILE] [--check-config]

Serve the Nix store as a binary cache.

Options:
  --config FILE   TOML config file (default: $CONFIG_FILE, else built-in defaults)
  --check-config  check the config, open the database, load the keys, print a summary and
                  exit (0 when all is well, 1 with a message naming the key or file if not)
  -h, --help      show this help

Environment:
  CONFIG_FILE     config file, when --config is not given
  SIGN_KEY_PATHS  secret key files, space-separated, added to sign_key_paths
  ADMIN_TOKEN_PATHS  admin API token files, space-separated, added to admin_token_paths
  NIX_SECRET_KEY_FILE  one more secret key file (nix-serve's variable)`;

/** How long running downloads get to finish after SIGTERM before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serveCommand(args: string[], log: Logger): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args,
      options: {
        config: { type: "string" },
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
  const config = loadConfig(values.config);
  if (values["check-config"] === true) return checkConfig(config, log);
  const app = openApp(config, log, clockFromEnv());
  const { services } = app;
  const tasks = startStoreTasks({
    config,
    log,
    narInfoCache: services.narInfoCache,
    monitor: {
      index: app.index,
      roots: app.roots,
      metrics: createStoreMetrics(services.metrics.registry),
    },
  });
  await tasks.ready;
  const tls =
    config.tls_cert_path !== undefined && config.tls_key_path !== undefined
      ? { certPath: config.tls_cert_path, keyPath: config.tls_key_path }
      : undefined;
  const metricsOnMain = config.metrics.enable && config.metricsListen === undefined;
  const server = createServer(
    createRequestHandler(metricsOnMain ? [...routes, ...metricsRoutes] : routes, services),
    tls,
  );
  const metricsListen = config.metrics.enable ? config.metricsListen : undefined;
  // Plain HTTP: scrapers usually sit on a private network or on localhost.
  const metricsServer =
    metricsListen === undefined
      ? undefined
      : createServer(createRequestHandler(metricsRoutes, services), undefined);
  const servers = metricsServer === undefined ? [server] : [server, metricsServer];
  // Handlers go in before "listening" is announced: whoever reads that line may signal at once.
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info("shutting down", { signal });
      let open = servers.length;
      for (const each of servers) {
        // A server not listening yet calls back at once (with an error that changes nothing).
        each.close(() => {
          if (--open > 0) return;
          void tasks.close().then(() => {
            app.close();
            resolve(0);
          });
        });
        each.closeIdleConnections();
      }
      setTimeout(() => {
        for (const each of servers) each.closeAllConnections();
      }, SHUTDOWN_GRACE_MS).unref();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  try {
    const bound = await listen(server, config.listen);
    log.info(`listening on ${formatListenAddress(bound)}`, {
      store: config.virtual_nix_store,
      keys: services.keys.map((key) => key.name).join(",") || "none",
      tls: tls !== undefined,
      admin_api: services.adminTokens.length > 0,
    });
    if (metricsServer !== undefined && metricsListen !== undefined) {
      const metricsBound = await listen(metricsServer, metricsListen);
      log.info(`metrics listening on ${formatListenAddress(metricsBound)}`);
    }
  } catch (error) {
    // Nothing is served: stop watching, so that the process ends with the error.
    await tasks.close();
    for (const each of servers) each.close();
    app.close();
    throw error;
  }
  return stopped;
}
