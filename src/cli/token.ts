// `storefront token generate`: a new random secret in a file of its own (mode 0600), and the
// config and netrc lines that use it.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { scopesOf, SCOPE_NAMES } from "../core/scopes.ts";
import { fileErrorReason } from "../config/config-files.ts";
import { CommandError, HELP_ROW, helpRows, parseCommand, UsageError } from "./usage.ts";

export const tokenHelp = `Usage: storefront token generate NAME --scopes SCOPES --secret FILE [--force]

Write a new random secret (32 random bytes, base64url) to FILE with mode 0600, and print the
[[access.tokens]] lines for the server's config and the netrc line for the client. NAME is the
netrc login: letters, digits, '-', '_' or '.', at most 64. SCOPES is a comma-separated list of
${SCOPE_NAMES.join(", ")} ("admin" is all of them).

Options:
${helpRows([
  ["--scopes SCOPES", "what the token may do, e.g. read or read,push"],
  ["--secret FILE", "where to write the secret (the token's secret_path)"],
  ["--force", "replace FILE if it exists"],
  HELP_ROW,
])}`;

export function tokenCommand(args: string[]): number {
  const parsed = parseCommand(
    args,
    { scopes: { type: "string" }, secret: { type: "string" }, force: { type: "boolean" } },
    tokenHelp,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [action, name, ...rest] = positionals;
  if (action !== "generate") {
    throw new UsageError(
      `token: ${action === undefined ? "expected a subcommand" : `unknown subcommand "${action}"`}; the only one is "generate"\n\n${tokenHelp}`,
    );
  }
  if (name === undefined) {
    throw new UsageError(`token generate: expected the token's NAME, e.g. ci\n\n${tokenHelp}`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected "${rest[0] ?? ""}"\n\n${tokenHelp}`);
  if (values.scopes === undefined || values.secret === undefined) {
    throw new UsageError(`both --scopes SCOPES and --secret FILE are needed\n\n${tokenHelp}`);
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new CommandError(
      `token name "${name}" must be 1 to 64 letters, digits, '-', '_' or '.' (it is the netrc login)`,
    );
  }
  const scopes = values.scopes.split(",").map((scope) => scope.trim());
  const unknown = scopes.find((scope) => scopesOf(scope) === undefined);
  if (unknown !== undefined) {
    throw new CommandError(
      `--scopes: unknown scope "${unknown}"; use a comma-separated list of ${SCOPE_NAMES.join(", ")}`,
    );
  }
  const file = resolve(values.secret);
  if (existsSync(file) && values.force !== true) {
    throw new CommandError(`${file} exists already; pass --force to replace it`);
  }
  const secret = randomBytes(32).toString("base64url");
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // A new file, mode 0600 from its first byte: --force removes the old one (and its mode).
    if (values.force === true) rmSync(file, { force: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    throw new CommandError(`cannot write ${file}: ${fileErrorReason(error)}`);
  }
  process.stdout.write(
    [
      "# Add to the server's config:",
      "[[access.tokens]]",
      `name = ${JSON.stringify(name)}`,
      `secret_path = ${JSON.stringify(file)}`,
      `scopes = [${scopes.map((scope) => JSON.stringify(scope)).join(", ")}]`,
      "",
      "# Add to the client's netrc file (mode 0600), with the cache's host name:",
      `machine cache.example.org login ${name} password ${secret}`,
      "",
    ].join("\n"),
  );
  return 0;
}
