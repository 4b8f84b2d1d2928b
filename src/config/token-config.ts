// `[[access.tokens]]` entries, checked when the config is loaded (before any file is read):
// each a name that can be a netrc login, a secret file, and known scopes. Every message names
// the key and the fix.

import { ConfigError } from "../errors.ts";
import { scopesOf, SCOPE_NAMES, type Scope } from "../core/scopes.ts";

export interface TokenConfig {
  /** The netrc login that goes with the secret. */
  readonly name: string;
  readonly secret_path: string;
  readonly scopes: readonly Scope[];
}

/** A netrc login: no white space (netrc splits on it), nothing a shell or URL mangles. */
const TOKEN_NAME = /^[A-Za-z0-9._-]{1,64}$/;

const TOKEN_KEYS = new Set(["name", "secret_path", "scopes"]);

function parseEntry(entry: unknown, key: string, where: string): TokenConfig {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ConfigError(`${where}: "${key}" must be a table: write it as [[access.tokens]]`);
  }
  const record = entry as Record<string, unknown>;
  const unknownKey = Object.keys(record).find((k) => !TOKEN_KEYS.has(k));
  if (unknownKey !== undefined) {
    throw new ConfigError(
      `${where}: unknown key "${key}.${unknownKey}"; a token has "name", "secret_path" and "scopes"`,
    );
  }
  const { name, secret_path, scopes } = record;
  if (typeof name !== "string" || !TOKEN_NAME.test(name)) {
    throw new ConfigError(
      `${where}: "${key}.name" ${typeof name === "string" ? `"${name}"` : "is missing or not a string; it"} must be 1 to 64 letters, digits, '-', '_' or '.' (it is the netrc login, which cannot hold a space); e.g. name = "ci"`,
    );
  }
  const named = `${key}.` + "secret_path" + ` (token "${name}")`;
  if (typeof secret_path !== "string" || !secret_path.startsWith("/")) {
    throw new ConfigError(
      `${where}: "${named}" must be the absolute path of the file holding the secret; make one with \`storefront token generate ${name} --scopes read --secret FILE\``,
    );
  }
  const scopeList = `${key}.scopes (token "${name}")`;
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new ConfigError(
      `${where}: "${scopeList}" must be a non-empty list of ${SCOPE_NAMES.map((s) => `"${s}"`).join(", ")}; e.g. scopes = ["read"]`,
    );
  }
  const granted = new Set<Scope>();
  for (const scope of scopes as unknown[]) {
    const meant = typeof scope === "string" ? scopesOf(scope) : undefined;
    if (meant === undefined) {
      throw new ConfigError(
        `${where}: "${scopeList}" has unknown scope ${JSON.stringify(scope)}; use ${SCOPE_NAMES.map((s) => `"${s}"`).join(", ")}`,
      );
    }
    for (const s of meant) granted.add(s);
  }
  return Object.freeze({ name, secret_path, scopes: Object.freeze([...granted]) });
}

/** Checks the `access.tokens` list of `where`, the config file. */
export function parseTokenConfigs(raw: readonly unknown[], where: string): readonly TokenConfig[] {
  const tokens = raw.map((entry, i) => parseEntry(entry, `access.tokens[${i}]`, where));
  const seen = new Set<string>();
  for (const token of tokens) {
    if (seen.has(token.name)) {
      throw new ConfigError(
        `${where}: "access.tokens" names "${token.name}" twice; each token needs a name of its own (it is the netrc login)`,
      );
    }
    seen.add(token.name);
  }
  return Object.freeze(tokens);
}
