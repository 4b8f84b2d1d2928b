// SIGHUP: reload what can change without a restart (systemd's `ExecReload`, `kill -HUP`), never
// dropping a connection. Node ends a process on SIGHUP unless it has a handler, so every process
// of storefront installs one, the cluster's workers included.
//
// What a reload changes: the signing keys and the access tokens (`[access]` and the admin
// tokens: whether the cache is public, the tokens and their scopes), both the files' contents and the
// lists of files in the config (and in the environment the process started with), the TLS
// certificate and key (for new connections), and the priority. The config file is read again; any other setting that changed is logged as taking
// effect at the next restart: the listening sockets, the store, the caches and the workers are
// set up once, at start.

import { threadId } from "node:worker_threads";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";

/**
 * The config keys that a reload applies: the key and token files, and what routes read from
 * the services' config on every request (`access`, whether the cache is public and its tokens;
 * `priority`, in /nix-cache-info and on the landing page).
 */
const RELOADABLE = ["sign_key_paths", "admin_token_paths", "access", "priority"] as const;

/** What a SIGHUP does, set once the process is ready to reload. */
export interface ReloadSignal {
  /**
   * From now on, runs `reload` on each SIGHUP. A SIGHUP that came before is not lost: `reload`
   * runs at once for it (several count as one).
   */
  handle(reload: () => void): void;
}

/**
 * Catches SIGHUP from now on, so that it never ends the process; call it before anything that
 * may take time. Until `handle` is called, a SIGHUP is kept for later and logged.
 */
export function catchReloadSignal(log: Logger): ReloadSignal {
  let reload: (() => void) | undefined;
  let pending = false;
  process.on("SIGHUP", () => {
    if (reload !== undefined) {
      reload();
      return;
    }
    if (!pending) log.info("SIGHUP while starting: reloading once started");
    pending = true;
  });
  return {
    handle: (next) => {
      reload = next;
      if (pending) {
        pending = false;
        next();
      }
    },
  };
}

/** A worker leaves reloads to its primary, which reloads every worker. */
export function ignoreReloadSignalInWorker(log: Logger): void {
  process.on("SIGHUP", () => {
    log.info("SIGHUP ignored by a worker: the primary process reloads the workers", {
      pid: process.pid,
    });
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The config to run with after a reload: `running`, with the reloadable keys taken from the
 * config read again by `read`. Logs what changed but needs a restart. Undefined when the config
 * cannot be read (logged: the running config, keys and tokens stay).
 */
export function reloadedConfig(
  running: Config,
  read: () => Config,
  log: Logger,
): Config | undefined {
  let fresh: Config;
  try {
    fresh = read();
  } catch (error) {
    log.error("reload failed; the running config, keys, tokens and certificate stay", {
      detail: errorText(error),
    });
    return undefined;
  }
  // New certificate and key files, yes; HTTPS turned on or off, only at a restart.
  const tlsStays = (fresh.tls_cert_path === undefined) === (running.tls_cert_path === undefined);
  const reloadable: readonly string[] = [
    ...RELOADABLE,
    ...(tlsStays ? ["tls_cert_path", "tls_key_path"] : []),
  ];
  const changed = (Object.keys(fresh) as (keyof Config)[]).filter(
    (key) =>
      !reloadable.includes(key) &&
      key !== "source" &&
      JSON.stringify(fresh[key]) !== JSON.stringify(running[key]),
  );
  if (changed.length > 0) {
    log.warn("reload: settings changed that take effect only at a restart", {
      keys: changed.join(", "),
    });
  }
  return Object.freeze({
    ...running,
    sign_key_paths: fresh.sign_key_paths,
    admin_token_paths: fresh.admin_token_paths,
    access: fresh.access,
    priority: fresh.priority,
    ...(tlsStays ? { tls_cert_path: fresh.tls_cert_path, tls_key_path: fresh.tls_key_path } : {}),
  });
}

/**
 * What holds the running keys, tokens and certificate: what serves (daemon/serving.ts), or a
 * cluster primary's checking copy.
 */
export interface Reloadable {
  /** Loads every file first and changes nothing unless all load; throws naming the file. */
  reload(config: Config): void;
  readonly services: {
    readonly keys: readonly { readonly name: string }[];
    readonly access: {
      readonly policy: { readonly public: boolean; readonly tokens: readonly unknown[] };
    };
  };
}

/**
 * Puts the keys, tokens and TLS files of `config` in place in `target`; logs what it did or, on
 * a problem, why the running ones stay. Returns whether it reloaded.
 */
export function applyReload(target: Reloadable, config: Config, log: Logger): boolean {
  try {
    target.reload(config);
  } catch (error) {
    // The message names the file and what is wrong with it, never its contents.
    log.error("reload failed; the running keys, tokens and certificate stay", {
      pid: process.pid,
      detail: errorText(error),
    });
    return false;
  }
  const { keys, access } = target.services;
  log.info("reloaded signing keys and access tokens", {
    tls: config.tls_cert_path !== undefined,
    pid: process.pid,
    // Each serving thread (`threads = N`) reloads and says so; the main thread is 0.
    thread: threadId,
    keys: keys.length === 0 ? "none" : keys.map((key) => key.name).join(", "),
    tokens: access.policy.tokens.length,
    public: access.policy.public,
  });
  return true;
}
