// The tokens a running server knows, read at start from their secret files: `[[access.tokens]]`
// (a name, which is the netrc login, and scopes) and `admin_token_paths` (every scope, any
// login). Only a SHA-256 digest of each secret is kept, so that comparing one is a fixed-length
// timingSafeEqual whose time says nothing about the secrets.

import { createHash } from "node:crypto";
import { readSecretFile } from "../config/config-files.ts";
import { ConfigError } from "../errors.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log.ts";
import { SCOPES, type Scope } from "../core/scopes.ts";

/** The shortest secret accepted: anything shorter is guessable. */
export const MIN_SECRET_LENGTH = 16;

export interface Token {
  /** The login a Basic request must give; undefined: any (an admin token). */
  readonly name: string | undefined;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
}

export function secretDigest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Reads the secret of `path`, which `what` names (the key), with the fix in every message. */
function readSecret(path: string, what: string, name: string, log: Logger | undefined): string {
  const remedy = `make one with \`storefront token generate ${name} --scopes read --secret ${path} --force\``;
  let secret: string;
  try {
    secret = readSecretFile(path, what, log).trim();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${error.message}; ${remedy}`);
    throw error;
  }
  if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
    throw new ConfigError(
      `${path}: the ${what} must hold one secret of at least ${MIN_SECRET_LENGTH} characters without spaces; ${remedy}`,
    );
  }
  return secret;
}

/** Reads every token's secret; `log`, if given, hears of files others can read. */
export function loadTokens(config: Config, log: Logger | undefined): readonly Token[] {
  const named = config.access.tokens.map((token) => ({
    name: token.name,
    digest: secretDigest(
      readSecret(
        token.secret_path,
        `secret file of token "${token.name}" (access.tokens secret_path)`,
        token.name,
        log,
      ),
    ),
    scopes: new Set(token.scopes),
  }));
  const admin = config.admin_token_paths.map((path) => ({
    name: undefined,
    digest: secretDigest(readSecret(path, "admin token file (admin_token_paths)", "admin", log)),
    scopes: new Set(SCOPES),
  }));
  const tokens = [...named, ...admin];
  if (!config.access.public && !tokens.some((token) => token.scopes.has("read"))) {
    // A warning, not an error: the cache starts (its /health and landing page work) and the
    // operator adds a token.
    log?.warn(
      `"access.public" is false but no token has the "read" scope, so nobody can read the cache; add an [[access.tokens]] entry with scopes = ["read"], or set public = true`,
      { config: config.source },
    );
  }
  return Object.freeze(tokens);
}
