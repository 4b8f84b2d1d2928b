// Everything a running storefront needs, opened and checked at start so that a bad key file or
// a missing database fails now, with a clear message, rather than on the first request.

import type { Config } from "./config.ts";
import type { Services } from "./http/services.ts";
import type { Logger } from "./log.ts";
import { loadSigningKeys } from "./signing-keys.ts";
import { CompressedNarCache } from "./store/compressed-nar-cache.ts";
import { StoreDatabase } from "./store/database.ts";
import { VERSION } from "./version.ts";

export interface App {
  readonly services: Services;
  close(): void;
}

export interface AppOptions {
  /**
   * Open (and create) the compressed-NAR cache directory. Off for `--check-config`, which
   * must leave no trace on the machine and may run as another user than the daemon.
   */
  readonly narCache: boolean;
}

export function openApp(
  config: Config,
  log: Logger,
  options: AppOptions = { narCache: true },
): App {
  const keys = loadSigningKeys(config.sign_key_paths, log);
  const store = new StoreDatabase(config.nix_db_path, config.virtual_nix_store);
  const narCache = options.narCache
    ? CompressedNarCache.open(config.nar_cache, config.zstd.level, log)
    : undefined;
  return {
    services: { config, store, keys, log, version: VERSION, narCache },
    close: () => {
      store.close();
    },
  };
}
