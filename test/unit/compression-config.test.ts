// The config keys of compression and the compressed-NAR cache: defaults, units, the systemd
// cache directory, and errors that name the key.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { loadConfig } from "../../src/config/config.ts";
import { ConfigError } from "../../src/errors.ts";

describe("compression and NAR cache config", () => {
  const dir = tempDir("storefront-compression-config-");
  const load = (toml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof loadConfig> => {
    const file = join(dir, "c.toml");
    writeFileSync(file, toml);
    return loadConfig(file, env);
  };

  it("has compression on, zstd level 3 and a 10 GiB cache under /var/cache by default", () => {
    const config = load("");
    expect(config.enable_compression).toBe(true);
    expect(config.zstd.level).toBe(3);
    expect(config.nar_cache).toEqual({
      enable: true,
      path: "/var/cache/storefront/nars",
      max_size: 10 * 1024 ** 3,
    });
  });

  it("puts the cache under systemd's $CACHE_DIRECTORY when it is set", () => {
    expect(load("", { CACHE_DIRECTORY: "/var/cache/storefront" }).nar_cache.path).toBe(
      "/var/cache/storefront/nars",
    );
    expect(load("", { CACHE_DIRECTORY: "/a:/b" }).nar_cache.path).toBe("/a/nars");
  });

  it("keeps a harmonia config's choice and reads the new tables", () => {
    const config = load(
      'enable_compression = false\n[zstd]\nlevel = 9\n[nar_cache]\nenable = false\npath = "/srv/nars"\nmax_size = "512M"\n',
      { CACHE_DIRECTORY: "/ignored" },
    );
    expect(config.enable_compression).toBe(false);
    expect(config.zstd.level).toBe(9);
    expect(config.nar_cache).toEqual({
      enable: false,
      path: "/srv/nars",
      max_size: 512 * 1024 ** 2,
    });
    expect(load("[nar_cache]\nmax_size = 1000\n").nar_cache.max_size).toBe(1000);
  });

  it("names the key in errors", () => {
    expect(() => load("[zstd]\nlevel = 30\n")).toThrow(
      /"zstd\.level" must be an integer from 1 to 22/,
    );
    expect(() => load('[nar_cache]\nmax_size = "big"\n')).toThrow(
      /"nar_cache\.max_size" must be a size/,
    );
    expect(() => load('[nar_cache]\npath = "nars"\n')).toThrow(
      /"nar_cache\.path" must be an absolute path/,
    );
    expect(() => load("[nar_cache]\nsize = 1\n")).toThrow(/unknown key "nar_cache\.size"/);
    expect(() => load("zstd = 3\n")).toThrow(ConfigError);
  });
});
