// The config keys for listening and stopping: their defaults, their checks.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { loadConfig } from "../../src/config/config.ts";

const dir = tempDir("storefront-listen-config-");

function load(toml: string): ReturnType<typeof loadConfig> {
  const path = join(dir, "storefront.toml");
  writeFileSync(path, toml);
  return loadConfig(path, {});
}

describe("listening and stopping settings", () => {
  it("default to 30 s to finish downloads, 30 s for headers, 60 s idle", () => {
    const config = loadConfig(undefined, {});
    expect(config.shutdown_timeout).toBe(30);
    expect(config.request_header_timeout).toBe(30);
    expect(config.idle_timeout).toBe(60);
  });

  it("are read from the file", () => {
    const config = load("shutdown_timeout = 0\nrequest_header_timeout = 5\nidle_timeout = 7\n");
    expect(config).toMatchObject({
      shutdown_timeout: 0,
      request_header_timeout: 5,
      idle_timeout: 7,
    });
  });

  it.each([
    ["shutdown_timeout = -1", /"shutdown_timeout" must be an integer from 0/],
    ["request_header_timeout = 0", /"request_header_timeout" must be an integer from 1/],
    ['idle_timeout = "1m"', /"idle_timeout" must be an integer from 1/],
  ])("reject %s, naming the key", (toml, message) => {
    expect(() => load(toml)).toThrow(message);
  });

  it("refuse TLS on a unix socket", () => {
    expect(() =>
      load('bind = "unix:/run/s.sock"\ntls_cert_path = "/c.pem"\ntls_key_path = "/k.pem"\n'),
    ).toThrow(/TLS \("tls_cert_path"\) cannot be used with a unix socket "bind"/);
  });
});
