import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileErrorReason } from "../config/config-files.ts";
import { generateKeyPair, keyNameProblem } from "../core/nix/signing-key.ts";
import { CommandError, HELP_ROW, helpRows, parseCommand, UsageError } from "./usage.ts";

export const keyHelp = `Usage: storefront key generate NAME --secret FILE --public FILE

Write a new Ed25519 signing key pair in Nix's format, as nix-store --generate-binary-cache-key
does. NAME is conventionally the cache's host name and a number, e.g. cache.example.org-1.
The secret file is created with mode 0600, and a missing directory for it with mode 0700;
neither file may exist already.

Options:
${helpRows([
  ["--secret FILE", "where to write the secret key (for sign_key_paths)"],
  ["--public FILE", "where to write the public key (for clients' trusted-public-keys)"],
  HELP_ROW,
])}`;

/**
 * Creates the directory that `file` goes in, when it is missing, with `mode`: the README's
 * `--secret /etc/storefront/secret` works on a machine without /etc/storefront. Says so on
 * stderr (stdout carries the public key).
 */
function ensureDirectory(file: string, mode: number): void {
  const directory = dirname(resolve(file));
  if (existsSync(directory)) return;
  try {
    mkdirSync(directory, { recursive: true, mode });
  } catch (error) {
    throw new CommandError(
      `cannot create the directory ${directory} for ${file}: ${fileErrorReason(error)}`,
    );
  }
  process.stderr.write(`storefront: created ${directory} (mode ${mode.toString(8)})\n`);
}

function writeNew(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode, flag: "wx" });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CommandError(
      code === "EEXIST"
        ? `${path} exists already; remove it or choose another file`
        : `cannot write ${path}: ${fileErrorReason(error)}`,
    );
  }
}

export function keyCommand(args: string[]): number {
  const parsed = parseCommand(
    args,
    { secret: { type: "string" }, public: { type: "string" } },
    keyHelp,
  );
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const [action, name, ...rest] = positionals;
  if (action === undefined) {
    throw new UsageError(`key: expected a subcommand ("generate")\n\n${keyHelp}`);
  }
  if (action !== "generate") {
    throw new UsageError(
      `key: unknown subcommand "${action}"; the only one is "generate"\n\n${keyHelp}`,
    );
  }
  if (name === undefined) {
    throw new UsageError(
      `key generate: expected the key's NAME, e.g. cache.example.org-1\n\n${keyHelp}`,
    );
  }
  if (rest.length > 0) throw new UsageError(`unexpected "${rest[0] ?? ""}"\n\n${keyHelp}`);
  const problem = keyNameProblem(name);
  if (problem !== undefined) {
    throw new CommandError(
      `${problem}: a key name must be non-empty, without spaces or colons, and without control characters`,
    );
  }
  if (values.secret === undefined || values.public === undefined) {
    throw new UsageError(`both --secret FILE and --public FILE are needed\n\n${keyHelp}`);
  }
  const pair = generateKeyPair(name);
  for (const path of [values.secret, values.public]) {
    if (existsSync(path))
      throw new CommandError(`${path} exists already; remove it or choose another file`);
  }
  // The public key's directory is readable by all, unless it is the secret's.
  ensureDirectory(values.secret, 0o700);
  ensureDirectory(values.public, 0o755);
  writeNew(values.secret, pair.secret, 0o600);
  writeNew(values.public, pair.public, 0o644);
  process.stdout.write(`${pair.public}\n`);
  return 0;
}
