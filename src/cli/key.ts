import { writeFileSync } from "node:fs";
import { generateKeyPair, keyNameProblem } from "../core/signing-key.ts";
import { parseCommand, UsageError } from "./usage.ts";

export const keyHelp = `Usage: storefront key generate NAME --secret FILE --public FILE

Write a new Ed25519 signing key pair in Nix's format, as nix-store --generate-binary-cache-key
does. NAME is conventionally the cache's host name and a number, e.g. cache.example.org-1.
The secret file is created with mode 0600; neither file may exist already.

Options:
  --secret FILE   where to write the secret key (for sign_key_paths)
  --public FILE   where to write the public key (for clients' trusted-public-keys)
  -h, --help      show this help`;

function writeNew(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode, flag: "wx" });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(
      code === "EEXIST"
        ? `${path} exists already; remove it or choose another file`
        : `${path}: cannot write (${code ?? String(error)})`,
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
  if (action !== "generate" || name === undefined || rest.length > 0) {
    throw new UsageError(keyHelp);
  }
  const problem = keyNameProblem(name);
  if (problem !== undefined) {
    throw new UsageError(
      `${problem}: a key name must be non-empty, without spaces or colons, and without control characters`,
    );
  }
  if (values.secret === undefined || values.public === undefined) {
    throw new UsageError(`both --secret FILE and --public FILE are needed\n\n${keyHelp}`);
  }
  const pair = generateKeyPair(name);
  writeNew(values.secret, pair.secret, 0o600);
  writeNew(values.public, pair.public, 0o644);
  process.stdout.write(`${pair.public}\n`);
  return 0;
}
