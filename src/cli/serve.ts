import cluster from "node:cluster";
import { loadConfig, type Config } from "../config/config.ts";
import type { ListenTarget } from "../config/listen-address.ts";
import {
  serveAsWorker,
  serveInThisProcess,
  serveWithWorkers,
  type ServeRun,
} from "../daemon/run.ts";
import { removeStaleSocket } from "../http/listen.ts";
import type { Logger } from "../log.ts";
import { catchReloadSignal } from "../process/reload.ts";
import { createSystemdNotifier, takeActivatedSockets } from "../process/systemd.ts";
import { checkListenAddresses } from "./bind-check.ts";
import { checkConfig } from "./check-config.ts";
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
  if (cluster.isWorker) return serveAsWorker(log);

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
