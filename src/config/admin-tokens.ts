// The admin API's bearer tokens, read at start from admin_token_paths: one token per file
// (surrounding white space ignored), so that they can be rotated and kept out of the config.

import { readSecretFile } from "./config-files.ts";
import { ConfigError } from "../errors.ts";
import { tokenDigest } from "../core/bearer-token.ts";
import type { Logger } from "../log.ts";

/** The shortest token accepted: anything shorter is guessable. */
const MIN_TOKEN_LENGTH = 16;

/** Loads the tokens of `paths`; `log`, if given, hears of files others can read. */
export function loadAdminTokens(paths: readonly string[], log: Logger | undefined): Buffer[] {
  return paths.map((path) => {
    const token = readSecretFile(path, "admin token file", log).trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new ConfigError(
        `${path}: an admin token file must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces; make one with \`openssl rand -hex 32\``,
      );
    }
    return tokenDigest(token);
  });
}
