// Bad [access] configs stop `storefront serve` at start with a message that names the key or
// the file and the fix, and exit code 1; a secret file others can read is only warned about.

import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

const SECRET = "a-secret-of-enough-length-0123456789";

function tokenEntry(name: string, secretPath: string, scopes: string): string {
  return `[[access.tokens]]\nname = ${JSON.stringify(name)}\nsecret_path = ${JSON.stringify(secretPath)}\nscopes = ${scopes}\n`;
}

async function checkConfig(dir: string, toml: string): ReturnType<typeof runCli> {
  const file = join(dir, "storefront.toml");
  writeFileSync(file, `nix_db_path = "/nonexistent/db.sqlite"\n[access]\npublic = false\n${toml}`);
  return runCli(["serve", "--check-config", "--config", file]);
}

describe("[access] config errors", () => {
  const dir = tempDir("storefront-access-config-");
  const secret = join(dir, "ci.secret");
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  const short = join(dir, "short.secret");
  writeFileSync(short, "short\n", { mode: 0o600 });

  it.each([
    [
      "an unknown scope",
      tokenEntry("ci", secret, `["read", "write"]`),
      /"access\.tokens\[0\]\.scopes \(token "ci"\)" has unknown scope "write"; use "read", "push", "pin", "admin"/,
    ],
    [
      "a name twice",
      tokenEntry("ci", secret, `["read"]`) + tokenEntry("ci", secret, `["pin"]`),
      /"access\.tokens" names "ci" twice; each token needs a name of its own/,
    ],
    [
      "a login with a space",
      tokenEntry("my ci", secret, `["read"]`),
      /"access\.tokens\[0\]\.name" "my ci" must be 1 to 64 letters, digits, '-', '_' or '\.'.*e\.g\. name = "ci"/,
    ],
    [
      "a missing secret file",
      tokenEntry("ci", join(dir, "missing"), `["read"]`),
      /missing: cannot read the secret file of token "ci" \(access\.tokens secret_path\): there is no such file or directory; make one with `storefront token generate ci/,
    ],
    [
      "a short secret",
      tokenEntry("ci", short, `["read"]`),
      /short\.secret: the secret file of token "ci" .* must hold one secret of at least 16 characters/,
    ],
    [
      "an unknown key",
      `[[access.tokens]]\nname = "ci"\nsecret = "x"\n`,
      /unknown key "access\.tokens\[0\]\.secret"/,
    ],
  ])("refuses %s, naming the key and the fix", async (_what, toml, message) => {
    const result = await checkConfig(dir, toml);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(SECRET);
  });

  it("warns about a private cache that nobody can read", async () => {
    const result = await checkConfig(dir, tokenEntry("deploy", secret, `["pin"]`));
    expect(result.stderr).toMatch(
      /warn "access\.public" is false but no token has the "read" scope.*add an \[\[access\.tokens\]\] entry with scopes = \["read"\], or set public = true/,
    );
  });

  it("warns about a secret file that others can read", async () => {
    const open = join(dir, "open.secret");
    writeFileSync(open, `${SECRET}\n`, { mode: 0o644 });
    const result = await checkConfig(dir, tokenEntry("ci", open, `["read"]`));
    expect(result.stderr).toMatch(
      /warn .*readable by group or others; chmod 600 it file=\S*open\.secret/,
    );
    expect(result.stderr).not.toContain(SECRET);
  });
});

describe("storefront token generate", () => {
  const dir = tempDir("storefront-token-");

  it("writes a random secret with mode 0600 and prints the config and netrc lines", async () => {
    const file = join(dir, "tokens", "ci");
    const made = await runCli([
      "token",
      "generate",
      "ci",
      "--scopes",
      "read,push",
      "--secret",
      file,
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, "utf8").trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.stdout).toContain(
      `[[access.tokens]]\nname = "ci"\nsecret_path = "${file}"\nscopes = ["read", "push"]\n`,
    );
    expect(made.stdout).toContain(`login ci password ${secret}\n`);
  });

  it("never overwrites a file without --force, and replaces it (mode too) with it", async () => {
    const file = join(dir, "existing");
    writeFileSync(file, "keep me\n", { mode: 0o644 });
    const refused = await runCli(["token", "generate", "ci", "--scopes", "read", "--secret", file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} exists already; pass --force to replace it`);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
    const forced = await runCli([
      "token",
      "generate",
      "ci",
      "--scopes",
      "pin",
      "--secret",
      file,
      "--force",
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).not.toBe("keep me\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it.each([
    [["bad name", "--scopes", "read"], /token name "bad name" must be 1 to 64 letters/],
    [
      ["ci", "--scopes", "read,write"],
      /--scopes: unknown scope "write"; use a comma-separated list of read, push, pin, admin/,
    ],
  ])("refuses %j with exit code 1", async (args, message) => {
    const result = await runCli(["token", "generate", ...args, "--secret", join(dir, "never")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });
});
