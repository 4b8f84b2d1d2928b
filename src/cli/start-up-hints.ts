// What `serve` tells a new operator at start, once it listens: that without a signing key
// clients refuse what this machine built, and that an empty store has nothing to serve yet.
// Each is one log line with the command that fixes it.

import { hostname } from "node:os";
import type { Config } from "../config/config.ts";
import { firstPathCommand, keySetup, SECRET_KEY_FILE } from "../core/pages/first-steps.ts";
import type { Logger } from "../log.ts";
import { StoreIndex } from "../store/db/store-index.ts";

export function logStartUpHints(config: Config, log: Logger): void {
  if (config.sign_key_paths.length === 0) {
    const { command, configLine } = keySetup(hostname());
    log.warn(
      `no signing key: Nix clients refuse the paths built on this machine unless they trust this cache without signatures; make a key with \`${command}\` and add \`${configLine}\` to the config (or set SIGN_KEY_PATHS=${SECRET_KEY_FILE})`,
    );
  }
  // Advice only: the database opened a moment ago for serving; should it fail now, serving goes
  // on and the next request reports the problem.
  try {
    const index = new StoreIndex(config.nix_db_path);
    try {
      if (index.isEmpty()) {
        log.info(
          `the store is empty: nothing to serve yet; put a first path in it with \`${firstPathCommand(config.virtual_nix_store, config.real_nix_store)}\` (or nix-build, nix copy): it is served as soon as Nix registers it`,
        );
      }
    } finally {
      index.close();
    }
  } catch (error) {
    log.debug("cannot tell whether the store is empty", { error: String(error) });
  }
}
