// Like harmonia's `error_responses`: when the server fails (a bug, the database failing), the
// client gets a 500 with a short fixed body and `no-store`, and nothing of what went wrong:
// no path, no SQL, no stack trace. Those go to the log only.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { AccessControl } from "../../src/access/access-control.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createRequestHandler } from "../../src/http/handler.ts";
import { routes } from "../../src/http/routes/index.ts";
import type { Services } from "../../src/http/services.ts";
import type { Logger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics/metrics.ts";
import { NarInfoCache } from "../../src/store/db/narinfo-cache.ts";
import { get } from "../support/http.ts";

const SECRET_PATH = "/var/lib/secret/nix/var/nix/db/db.sqlite";
const SQL = "SELECT id, hash, deriver FROM ValidPaths WHERE path = ?";
const HASH = "0".repeat(32);

/** A database that fails the way SQLite does, with a path and SQL in its message. */
function failingStore(): Services["store"] {
  const fail = (): never => {
    throw new Error(`SQLITE_IOERR: disk I/O error reading ${SECRET_PATH} in "${SQL}"`);
  };
  return { pathInfo: fail, pathNar: fail, realisation: fail };
}

describe("a request that fails on the server", () => {
  const logged: string[] = [];
  const log: Logger = {
    info: () => undefined,
    warn: () => undefined,
    debug: () => undefined,
    error: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`),
  };
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const services = {
      config: loadConfig(undefined, {}),
      store: failingStore(),
      keys: [],
      log,
      version: "test",
      metrics: createMetrics(),
      narInfoCache: new NarInfoCache(),
      access: new AccessControl({ public: true, tokens: [] }, log, new Registry()),
      narCache: undefined,
      narLayouts: undefined,
    } as unknown as Services;
    server = createServer(createRequestHandler(routes, services));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it.each([`/${HASH}.narinfo`, `/realisations/sha256:${"a".repeat(64)}!out.doi`])(
    "GET %s is a 500 with a fixed body that tells nothing of the failure",
    async (path) => {
      const response = await get(url, path);
      expect(response.status).toBe(500);
      expect(response.body.toString()).toBe("internal error\n");
      expect(response.headers["cache-control"]).toBe("no-store");
      const everything = JSON.stringify(response.headers) + response.body.toString();
      for (const leak of ["/var/lib", "sqlite", "SQLITE", "SELECT", "ValidPaths", "    at "]) {
        expect(everything).not.toContain(leak);
      }
    },
  );

  it("logs what went wrong, for the operator", () => {
    expect(logged.some((line) => line.includes(SECRET_PATH))).toBe(true);
  });
});
