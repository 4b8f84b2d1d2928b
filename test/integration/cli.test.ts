// The command line: help for every command, and startup errors that name the file or address
// and exit non-zero.

import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { tempDir } from "../support/temp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { runCli, startServer } from "../support/server.ts";

const KEYS = new URL("../fixtures/keys/", import.meta.url).pathname;
const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;

describe("help and usage", () => {
  it.each([["--help"], ["serve", "--help"], ["key", "--help"], ["help", "serve"]])(
    "storefront %s prints help and exits 0",
    async (...args) => {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: storefront/);
    },
  );

  it("refuses an unknown command or option with exit code 2", async () => {
    const unknown = await runCli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const option = await runCli(["serve", "--bogus"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("--bogus");
  });
});

describe("key generate", () => {
  it("writes a key pair in Nix's format, the secret with mode 0600", async () => {
    const dir = tempDir("storefront-cli-");
    const result = await runCli([
      "key",
      "generate",
      "cache.example-1",
      "--secret",
      join(dir, "s"),
      "--public",
      join(dir, "p"),
    ]);
    expect(result.code).toBe(0);
    expect(statSync(join(dir, "s")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "s"), "utf8")).toMatch(/^cache\.example-1:[A-Za-z0-9+/]{86}==$/);
    expect(readFileSync(join(dir, "p"), "utf8")).toMatch(/^cache\.example-1:[A-Za-z0-9+/]{43}=$/);
    expect(result.stdout.trim()).toBe(readFileSync(join(dir, "p"), "utf8"));
  });

  it("never overwrites an existing file", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "s"), "precious");
    const result = await runCli([
      "key",
      "generate",
      "k",
      "--secret",
      join(dir, "s"),
      "--public",
      join(dir, "p"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, "s")} exists already`);
    expect(readFileSync(join(dir, "s"), "utf8")).toBe("precious");
  });

  it("refuses a name with a colon", async () => {
    const dir = tempDir("storefront-cli-");
    const result = await runCli([
      "key",
      "generate",
      "a:b",
      "--secret",
      join(dir, "s"),
      "--public",
      join(dir, "p"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("without spaces or colons");
    // A bidi override is no white space, but would hide what the name says.
    const hidden = await runCli([
      "key",
      "generate",
      "a\u202eb",
      "--secret",
      join(dir, "s"),
      "--public",
      join(dir, "p"),
    ]);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toContain('the key name "a\\u202eb" contains control characters');
  });
});

describe("serve refuses to start, saying why", () => {
  it("when the database is missing", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(
      join(dir, "c.toml"),
      `real_nix_store = "${dir}/nix/store"\nbind = "127.0.0.1:0"\n`,
    );
    const result = await runCli(["serve", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Nix database not found at ${dir}/nix/var/nix/db/db.sqlite`);
  });

  it("when a key file is not a key, naming the file", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "bad.key"), "not a key\n");
    const result = await runCli(["serve"], { SIGN_KEY_PATHS: join(dir, "bad.key") });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, "bad.key")}: not a Nix secret key`);
  });

  it("when a key file is the public key", async () => {
    const result = await runCli(["serve"], { SIGN_KEY_PATHS: join(KEYS, "test-1.public") });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is it the public key?");
  });

  it("when a key file cannot be read", async () => {
    const result = await runCli(["serve"], { SIGN_KEY_PATHS: "/nonexistent/key" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "/nonexistent/key: cannot read the secret key file: there is no such file or directory",
    );
  });

  it("when the config has an unknown key", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "c.toml"), `bnid = "[::]:5000"\n`);
    const result = await runCli(["serve", "--config", join(dir, "c.toml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, "c.toml")}: unknown key "bnid"`);
  });
});

describe.skipIf(!hasNix)("serve with a store", () => {
  let store: TestStore;

  beforeAll(() => {
    store = makeTestStore();
    nixBuild(store, FIXTURE, ["topFile"]);
  });
  afterAll(() => {
    store.remove();
  });

  it("refuses a port in use", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const dir = tempDir("storefront-cli-");
    writeFileSync(
      join(dir, "c.toml"),
      `real_nix_store = "${store.realStoreDir}"\nbind = "127.0.0.1:${port}"\n`,
    );
    const result = await runCli(["serve", "--config", join(dir, "c.toml")]);
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `cannot listen on 127.0.0.1:${port} ("bind"): the address is in use`,
    );
  });

  it("warns once about a secret key readable by others, and serves with workers", async () => {
    const dir = tempDir("storefront-cli-");
    writeFileSync(join(dir, "open.key"), readFileSync(join(KEYS, "test-1.secret")));
    chmodSync(join(dir, "open.key"), 0o644);
    const server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 2\nreal_nix_store = "${store.realStoreDir}"\nsign_key_paths = ["${join(dir, "open.key")}"]\n`,
    );
    const code = await server.stop();
    expect(code).toBe(0);
    expect(server.stderr()).toMatch(
      /warn secret key file is readable by group or others.*open\.key/,
    );
    // The primary checked the file before forking; the workers do not warn again.
    expect(server.stderr().match(/readable by group or others/g)).toHaveLength(1);
  });
});
