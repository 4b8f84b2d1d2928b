// Loading the operator's secret keys at start, with errors that name the file and the fix.

import { parseSecretKey, type SigningKey } from "../core/nix/signing-key.ts";
import { readSecretFile } from "./config-files.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";

/** Loads the keys of `paths`; `log`, if given, hears of files others can read. */
export function loadSigningKeys(paths: readonly string[], log: Logger | undefined): SigningKey[] {
  return paths.map((path) => {
    const parsed = parseSecretKey(readSecretFile(path, "secret key file", log));
    if (!parsed.ok) {
      throw new ConfigError(
        `${path}: not a Nix secret key: ${parsed.reason}; make one with \`storefront key generate\``,
      );
    }
    return parsed.key;
  });
}
