// `storefront serve --check-config`: checks what `serve` checks at start, prints a summary,
// never listens, and names the key or file that is wrong.

import { once } from "node:events";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { generateKey, runCli } from "../support/server.ts";

describe.skipIf(!hasNix)("storefront serve --check-config", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  let dir: string;
  let secretKey: string;

  beforeAll(async () => {
    dir = tempDir("storefront-check-");
    secretKey = (await generateKey(dir, "check-test-1")).secret;
  });

  function writeConfig(name: string, toml: string): string {
    const path = join(dir, name);
    writeFileSync(path, toml);
    return path;
  }

  const storeLine = (): string => `real_nix_store = "${built.store.realStoreDir}"\n`;

  it("accepts a good config and prints what it found", async () => {
    const config = writeConfig(
      "good.toml",
      `${storeLine()}priority = 41\nworkers = 3\n[gc]\nmax_store_size = "200G"\n`,
    );
    const result = await runCli(["serve", "--check-config", "--config", config], {
      SIGN_KEY_PATHS: secretKey,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`config ok: ${config}`);
    expect(result.stdout).toMatch(/keys\s+check-test-1\n/);
    expect(result.stdout).toContain(`${built.store.dbPath} (opened)`);
    expect(result.stdout).toMatch(/workers\s+3\n/);
    expect(result.stdout).toMatch(/priority\s+41\n/);
    expect(result.stdout).toMatch(
      /gc\s+store up to 214748364800 NAR bytes, through \S+; checked and sampled every 600 s;/,
    );
    expect(result.stdout).toMatch(/status\s+\/status and \/status\.json on bind\n/);
    const off = writeConfig("no-status.toml", `${storeLine()}[status]\nenable = false\n`);
    const withoutStatus = await runCli(["serve", "--check-config", "--config", off]);
    expect(withoutStatus.stdout).toMatch(/status\s+off\n/);
  });

  it("does not listen: a bind address in use is no error", async () => {
    const blocker = createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const { port } = blocker.address() as AddressInfo;
    try {
      const config = writeConfig("busy.toml", `${storeLine()}bind = "127.0.0.1:${port}"\n`);
      const result = await runCli(["serve", "--check-config", "--config", config]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`bind      127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });

  it("names an unknown key and exits 1", async () => {
    const config = writeConfig("unknown.toml", `${storeLine()}prority = 41\n`);
    const result = await runCli(["serve", "--check-config", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${config}: unknown key "prority"`);
  });

  it("names a value of the wrong type", async () => {
    const config = writeConfig("type.toml", `${storeLine()}workers = "many"\n`);
    const result = await runCli(["serve", "--check-config", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`"workers" must be an integer`);
  });

  it("names a missing database", async () => {
    const missing = join(dir, "no-such-db.sqlite");
    const config = writeConfig("db.toml", `${storeLine()}nix_db_path = "${missing}"\n`);
    const result = await runCli(["serve", "--check-config", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
  });

  it("names a key file that is missing or not a key", async () => {
    const config = writeConfig("keys.toml", storeLine());
    const missing = await runCli(["serve", "--check-config", "--config", config], {
      SIGN_KEY_PATHS: join(dir, "no-such-key"),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, "no-such-key")}: cannot read the secret key`);

    const notAKey = writeConfig("not-a-key", "hello\n");
    const bad = await runCli(["serve", "--check-config", "--config", config], {
      SIGN_KEY_PATHS: notAKey,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${notAKey}: not a Nix secret key`);
  });

  it("refuses a key whose name would inject a line into every narinfo, at check and at start", async () => {
    const config = writeConfig("key-name.toml", `${storeLine()}bind = "127.0.0.1:0"\n`);
    const encoded = readFileSync(secretKey, "utf8").trim().split(":")[1] ?? "";
    const injecting = join(dir, "injecting.secret");
    writeFileSync(injecting, `te st\nx:${encoded}\n`, { mode: 0o600 });
    for (const args of [["serve", "--check-config"], ["serve"]]) {
      const result = await runCli([...args, "--config", config], { SIGN_KEY_PATHS: injecting });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toContain(
        `${injecting}: not a Nix secret key: the key name "te st\\nx" contains white space`,
      );
      expect(result.stderr).toContain("trusted-public-keys");
      expect(result.stderr).not.toContain(encoded);
      expect(result.stdout).not.toContain("listening");
    }
  });

  it.each([
    ["0620", "writable by group or others"],
    ["0640", "readable by group or others"],
    ["0606", "readable and writable by group or others"],
  ])("says what group and others may do with a key file of mode %s", async (octal, what) => {
    const mode = parseInt(octal, 8);
    const config = writeConfig("mode.toml", storeLine());
    const key = join(dir, `mode-${mode.toString(8)}.secret`);
    writeFileSync(key, readFileSync(secretKey));
    chmodSync(key, mode);
    const result = await runCli(["serve", "--check-config", "--config", config], {
      SIGN_KEY_PATHS: key,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`secret key file is ${what}; chmod 600 it`);
    expect(result.stderr.match(/is \S+ by|is readable and writable by/g)).toHaveLength(1);
  });

  it("names TLS files that cannot be used", async () => {
    const config = writeConfig(
      "tls.toml",
      `${storeLine()}tls_cert_path = "${join(dir, "public")}"\ntls_key_path = "${secretKey}"\n`,
    );
    const result = await runCli(["serve", "--check-config", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`"tls_cert_path" ${join(dir, "public")}`);
  });
});
