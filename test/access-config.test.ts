// Bad [access] configs stop `storefront serve` at start with a message that names the key or
// the file and the fix, and exit code 1; a secret file others can read is only warned about.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/server.ts";
import { tempDir } from "./support/temp.ts";

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
