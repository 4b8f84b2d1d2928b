// The config keys for metrics, pins and the admin API: defaults, environment, and errors that
// name the key.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clockFromEnv, systemClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config/config.ts";
import { tempDir } from "../support/temp.ts";

const dir = tempDir("storefront-config-");

function configFrom(toml: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, "storefront.toml");
  writeFileSync(file, toml);
  return loadConfig(file, env);
}

describe("operations config", () => {
  it("has defaults", () => {
    const config = configFrom(`real_nix_store = "/srv/x/nix/store"`);
    expect(config.admin_token_paths).toEqual([]);
    expect(config.metrics).toEqual({ enable: true, bind: undefined });
    expect(config.metricsListen).toBeUndefined();
    expect(config.gcroots).toEqual({
      dir: "/srv/x/nix/var/nix/gcroots/storefront",
      pin_new_paths: false,
      new_path_keep_days: 30,
      prune_interval: 3600,
    });
  });

  it("reads the sections and ADMIN_TOKEN_PATHS", () => {
    const config = configFrom(
      [
        `admin_token_paths = ["/etc/a"]`,
        `[metrics]`,
        `bind = "127.0.0.1:9100"`,
        `[gcroots]`,
        `dir = "/var/roots/"`,
        `pin_new_paths = true`,
        `new_path_keep_days = 7`,
        `prune_interval = 60`,
      ].join("\n"),
      { ADMIN_TOKEN_PATHS: "/etc/b  /etc/c" },
    );
    expect(config.admin_token_paths).toEqual(["/etc/a", "/etc/b", "/etc/c"]);
    expect(config.metricsListen).toEqual({ kind: "tcp", host: "127.0.0.1", port: 9100 });
    expect(config.gcroots).toMatchObject({ dir: "/var/roots", pin_new_paths: true });
  });

  it.each([
    [`[metrics]\nbind = "nowhere"`, '"metrics.bind"'],
    [`[metrics]\nenable = "yes"`, '"metrics.enable" must be true or false'],
    [`[gcroots]\nnew_path_keep_days = 0`, '"gcroots.new_path_keep_days" must be an integer'],
    [`[gcroots]\nkeep = 1`, 'unknown key "gcroots.keep"'],
    [`[gcroots]\ndir = "relative"`, '"gcroots.dir" must be an absolute path'],
    [`admin_token_paths = "/etc/a"`, '"admin_token_paths" must be a list of strings'],
  ])("refuses %j naming the key", (toml, message) => {
    expect(() => configFrom(toml)).toThrow(message);
  });

  it("takes a fixed clock from STOREFRONT_NOW, for tests", () => {
    expect(clockFromEnv({ STOREFRONT_NOW: "2026-01-01T00:00:00Z" })()).toBe(
      Date.parse("2026-01-01T00:00:00Z"),
    );
    expect(clockFromEnv({ STOREFRONT_NOW: "86400" })()).toBe(86_400_000);
    expect(() => clockFromEnv({ STOREFRONT_NOW: "tomorrow" })).toThrow("STOREFRONT_NOW");
    expect(clockFromEnv({})).toBe(systemClock);
  });
});
