// What the pin commands share: the config, the roots it names, and (to check paths) the store.

import { clockFromEnv } from "../clock.ts";
import { loadConfig, type Config } from "../config/config.ts";
import { GcRoots } from "../store/roots/gc-roots.ts";
import { PinService } from "../store/roots/pins.ts";
import { StoreIndex } from "../store/db/store-index.ts";

/** The `--config` row of the pin commands' help. */
export const CONFIG_OPTION: readonly [string, string] = [
  "--config FILE",
  "TOML config file, to find the store and the roots (default: $CONFIG_FILE)",
];

export interface OpenedPins {
  readonly config: Config;
  readonly pins: PinService;
  close(): void;
}

/** Opens the pins of the configured store; `withStore` also opens its database, to check paths. */
export function openPins(configFile: string | undefined, withStore: boolean): OpenedPins {
  const config = loadConfig(configFile);
  const roots = new GcRoots(config.gcroots.dir, clockFromEnv());
  const index = withStore ? new StoreIndex(config.nix_db_path) : undefined;
  const validity = index ?? {
    isValid: (): boolean => false,
  };
  return {
    config,
    pins: new PinService(roots, validity, config.virtual_nix_store, config.real_nix_store),
    close: () => index?.close(),
  };
}
