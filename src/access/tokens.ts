// The tokens a running server knows, read at start from their secret files: `[[access.tokens]]`
// (a name, which is the netrc login, and scopes) and `admin_token_paths` (every scope, any
// login). Only a SHA-256 digest of each secret is kept, so that comparing one is a fixed-length
// timingSafeEqual whose time says nothing about the secrets.

import { createHash } from "node:crypto";
import { readSecretFile } from "../config-files.ts";
import { ConfigError } from "../config-schema.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { SCOPES, type Scope } from "./scopes.ts";

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

function readSecret(path: string, what: string, log: Logger | undefined): string {
  const secret = readSecretFile(path, what, log).trim();
  if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
    throw new ConfigError(
      `${path}: a ${what} must hold one secret of at least ${MIN_SECRET_LENGTH} characters without spaces; make one with \`storefront token generate NAME --scopes read --secret ${path} --force\``,
    );
  }
  return secret;
}

/** Reads every token's secret; `log`, if given, hears of files others can read. */
export function loadTokens(config: Config, log: Logger | undefined): readonly Token[] {
  const named = config.access.tokens.map((token) => ({
    name: token.name,
    digest: secretDigest(readSecret(token.secret_path, "token secret file", log)),
    scopes: new Set(token.scopes),
  }));
  const admin = config.admin_token_paths.map((path) => ({
    name: undefined,
    digest: secretDigest(readSecret(path, "admin token file", log)),
    scopes: new Set(SCOPES),
  }));
  return Object.freeze([...named, ...admin]);
}
