import { loadConfig } from "../config.ts";
import { openApp } from "../app.ts";
import { formatListenAddress } from "../core/listen-address.ts";
import { createRequestHandler } from "../http/handler.ts";
import { createServer, listen } from "../http/listen.ts";
import { routes } from "../http/routes/index.ts";
import type { Logger } from "../log.ts";
import { parseCommandArgs } from "./usage.ts";

export const serveHelp = `Usage: storefront serve [--config FILE]

Serve the Nix store as a binary cache.

Options:
  --config FILE   TOML config file (default: $CONFIG_FILE, else built-in defaults)
  -h, --help      show this help

Environment:
  CONFIG_FILE     config file, when --config is not given
  SIGN_KEY_PATHS  secret key files, space-separated, added to sign_key_paths
  NIX_SECRET_KEY_FILE  one more secret key file (nix-serve's variable)`;

/** How long running downloads get to finish after SIGTERM before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serveCommand(args: string[], log: Logger): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    },
    serveHelp,
  );
  if (values.help === true) {
    process.stdout.write(serveHelp + "\n");
    return 0;
  }
  const config = loadConfig(values.config);
  const app = openApp(config, log);
  const tls =
    config.tls_cert_path !== undefined && config.tls_key_path !== undefined
      ? { certPath: config.tls_cert_path, keyPath: config.tls_key_path }
      : undefined;
  const server = createServer(createRequestHandler(routes, app.services), tls);
  // Handlers go in before "listening" is announced: whoever reads that line may signal at once.
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info("shutting down", { signal });
      server.close(() => {
        app.close();
        resolve(0);
      });
      server.closeIdleConnections();
      setTimeout(() => {
        server.closeAllConnections();
      }, SHUTDOWN_GRACE_MS).unref();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  const bound = await listen(server, config.listen);
  log.info(`listening on ${formatListenAddress(bound)}`, {
    store: config.virtual_nix_store,
    keys: app.services.keys.map((key) => key.name).join(",") || "none",
    tls: tls !== undefined,
  });
  return stopped;
}
