import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/temp.ts";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { parseListenAddress } from "../../src/config/listen-address.ts";

const dir = tempDir("storefront-config-");
let count = 0;

function configFile(toml: string): string {
  const path = join(dir, `config-${++count}.toml`);
  writeFileSync(path, toml);
  return path;
}

describe("config file", () => {
  it("has harmonia's defaults", () => {
    const config = loadConfig(undefined, {});
    expect(config.bind).toBe("[::]:5000");
    expect(config.listen).toEqual({ kind: "tcp", host: "::", port: 5000 });
    expect(config.priority).toBe(30);
    expect(config.virtual_nix_store).toBe("/nix/store");
    expect(config.real_nix_store).toBe("/nix/store");
    expect(config.nix_db_path).toBe("/nix/var/nix/db/db.sqlite");
    expect(config.sign_key_paths).toEqual([]);
    expect(config.workers).toBe(1);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads a harmonia config unchanged", () => {
    const path = configFile(`
bind = "127.0.0.1:5001"
workers = 4
max_connection_rate = 256
priority = 50
virtual_nix_store = "/nix/store"
real_nix_store = "/tmp/x/nix/store"
sign_key_path = "/run/keys/old"
sign_key_paths = ["/run/keys/a", "/run/keys/b"]
enable_compression = false
daemon_socket = "/nix/var/nix/daemon-socket/socket"
`);
    const config = loadConfig(path, {});
    expect(config.listen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 5001 });
    expect(config.workers).toBe(4);
    expect(config.priority).toBe(50);
    expect(config.nix_db_path).toBe("/tmp/x/nix/var/nix/db/db.sqlite");
    expect(config.sign_key_paths).toEqual(["/run/keys/a", "/run/keys/b", "/run/keys/old"]);
  });

  it("takes key files from harmonia's and nix-serve's environment variables", () => {
    const config = loadConfig(configFile(`sign_key_paths = ["/a"]`), {
      SIGN_KEY_PATHS: " /b  /c ",
      NIX_SECRET_KEY_FILE: "/d",
    });
    expect(config.sign_key_paths).toEqual(["/a", "/b", "/c", "/d"]);
  });

  it("finds the file through CONFIG_FILE", () => {
    const path = configFile(`priority = 7`);
    expect(loadConfig(undefined, { CONFIG_FILE: path }).priority).toBe(7);
  });

  it.each([
    [`prioritty = 3`, /unknown key "prioritty"/],
    [`priority = "high"`, /"priority" must be an integer/],
    [`priority = -1`, /"priority" must be an integer from 0/],
    [`workers = 0`, /"workers" must be an integer from 1/],
    [`threads = 0`, /"threads" must be an integer from 1/],
    [`workers = 2\nthreads = 2`, /"workers" = 2 and "threads" = 2: choose one; /],
    [`sign_key_paths = "/a"`, /"sign_key_paths" must be a list of strings/],
    [`real_nix_store = "relative/store"`, /"real_nix_store" must be an absolute path/],
    [`bind = "localhost"`, /"bind": expected host:port/],
    [`bind = "127.0.0.1:70000"`, /"bind": the port must be at most 65535/],
    [`bind = "unix:relative.sock"`, /"bind": a unix socket path must be absolute/],
    [`tls_cert_path = "/c.pem"`, /set both "tls_cert_path" and "tls_key_path"/],
    [`priority = `, /:1:\d+: not valid TOML/],
  ])("rejects %s, naming the key", (toml, message) => {
    const path = configFile(toml);
    expect(() => loadConfig(path, {})).toThrow(ConfigError);
    expect(() => loadConfig(path, {})).toThrow(message);
    expect(() => loadConfig(path, {})).toThrow(path);
  });

  it("says which file it cannot read", () => {
    expect(() => loadConfig(join(dir, "missing.toml"), {})).toThrow(/missing\.toml: cannot read/);
  });
});

describe("bind addresses", () => {
  it.each([
    ["127.0.0.1:8080", { kind: "tcp", host: "127.0.0.1", port: 8080 }],
    ["[::]:5000", { kind: "tcp", host: "::", port: 5000 }],
    ["[::1]:0", { kind: "tcp", host: "::1", port: 0 }],
    ["cache.lan:80", { kind: "tcp", host: "cache.lan", port: 80 }],
    ["unix:/run/storefront.sock", { kind: "unix", path: "/run/storefront.sock" }],
    ["unix:///run/storefront.sock", { kind: "unix", path: "/run/storefront.sock" }],
  ])("parses %s", (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });
});
