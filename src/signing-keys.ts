// Loading the operator's secret keys at start, with errors that name the file and the fix.

import { readFileSync, statSync } from "node:fs";
import { parseSecretKey, type SigningKey } from "./core/signing-key.ts";
import { ConfigError } from "./config-schema.ts";
import type { Logger } from "./log.ts";

export function loadSigningKeys(paths: readonly string[], log: Logger): SigningKey[] {
  return paths.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code ?? "unreadable";
      throw new ConfigError(`${path}: cannot read the secret key file (${code})`);
    }
    const parsed = parseSecretKey(text);
    if (!parsed.ok) {
      throw new ConfigError(
        `${path}: not a Nix secret key: ${parsed.reason}; make one with \`storefront key generate\``,
      );
    }
    if ((statSync(path).mode & 0o077) !== 0) {
      log.warn("secret key file is readable by group or others; chmod 600 it", { file: path });
    }
    return parsed.key;
  });
}
