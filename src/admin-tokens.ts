// The admin API's bearer tokens, read at start from admin_token_paths: one token per file
// (surrounding white space ignored), so that they can be rotated and kept out of the config.

import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "./config-schema.ts";
import { tokenDigest } from "./core/bearer-token.ts";
import type { Logger } from "./log.ts";

/** The shortest token accepted: anything shorter is guessable. */
const MIN_TOKEN_LENGTH = 16;

export function loadAdminTokens(paths: readonly string[], log: Logger): Buffer[] {
  return paths.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code ?? "unreadable";
      throw new ConfigError(`${path}: cannot read the admin token file (${code})`);
    }
    const token = text.trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new ConfigError(
        `${path}: an admin token file must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces; make one with \`openssl rand -hex 32\``,
      );
    }
    if ((statSync(path).mode & 0o077) !== 0) {
      log.warn("admin token file is readable by group or others; chmod 600 it", { file: path });
    }
    return tokenDigest(token);
  });
}
