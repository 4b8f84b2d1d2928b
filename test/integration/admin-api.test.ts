// The admin API: off without tokens, 401 without a valid one, pins added, listed and removed
// with one, and bad input answered with a short 4xx.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
const TOKEN = "test-token-from-config-0123456789";
const ENV_TOKEN = "test-token-from-the-environment-0123";

/** A request sent as written, with the body as text. */
async function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const response = await get(`http://127.0.0.1:${port}`, path, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return { ...response, body: response.body.toString("utf8") };
}

describe.skipIf(!hasNix)("admin API", () => {
  let store: TestStore;
  let server: RunningServer | undefined;
  let off: RunningServer | undefined;
  let path = "";

  const call = (
    method: string,
    urlPath: string,
    options: { token?: string | undefined; body?: string } = {},
  ) =>
    rawRequest(
      server?.port ?? 0,
      method,
      urlPath,
      options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      options.body,
    );
  const put = (name: string, body: unknown, token = TOKEN) =>
    call("PUT", `/api/v1/pins/${name}`, { token, body: JSON.stringify(body) });

  beforeAll(async () => {
    store = makeTestStore("storefront-admin-");
    path = nixBuild(store, FIXTURE, ["topFile"]).get("topFile") ?? "";
    const tokenFile = join(store.root, "token");
    const envTokenFile = join(store.root, "env-token");
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    writeFileSync(envTokenFile, ENV_TOKEN, { mode: 0o600 });
    const base = [`bind = "127.0.0.1:0"`, `real_nix_store = "${store.realStoreDir}"`];
    server = await startServer(
      store.root,
      [...base, `admin_token_paths = ["${tokenFile}"]`].join("\n"),
      { env: { ADMIN_TOKEN_PATHS: envTokenFile } },
    );
    const offDir = join(store.root, "off");
    mkdirSync(offDir);
    off = await startServer(offDir, base.join("\n"));
  });

  afterAll(async () => {
    await server?.stop();
    await off?.stop();
    store.remove();
  });

  it("is off (404) without tokens", async () => {
    for (const [method, urlPath] of [
      ["GET", "/api/v1/pins"],
      ["PUT", "/api/v1/pins/web"],
      ["DELETE", "/api/v1/pins/web"],
    ] as const) {
      const response = await rawRequest(off?.port ?? 0, method, urlPath, {
        authorization: `Bearer ${TOKEN}`,
      });
      expect(response.status, `${method} ${urlPath}`).toBe(404);
      expect(response.body).toBe("not found\n");
    }
  });

  it("takes an admin token as a Basic password, with any login", async () => {
    const basic = `Basic ${Buffer.from(`any-login:${TOKEN}`).toString("base64")}`;
    const response = await rawRequest(server?.port ?? 0, "GET", "/api/v1/pins", {
      authorization: basic,
    });
    expect(response.status).toBe(200);
  });

  it("answers 401 without a valid token", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-token-0123456789abcdef" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`user:${TOKEN}x`).toString("base64")}` },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      for (const [method, urlPath] of [
        ["GET", "/api/v1/pins"],
        ["PUT", "/api/v1/pins/web"],
        ["DELETE", "/api/v1/pins/web"],
        ["GET", "/api/v1/pins/%2e%2e"],
      ] as const) {
        const response = await rawRequest(server?.port ?? 0, method, urlPath, headers);
        expect(response.status, `${method} ${urlPath} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers["www-authenticate"]).toBe('Basic realm="storefront"');
        expect(response.body).toBe("unauthorized\n");
      }
    }
  });

  it("adds, lists and removes pins", async () => {
    const created = await put("web", { storePath: path, keepRevisions: 2 });
    expect(created.status, created.body).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({
      name: "web",
      retention: { kind: "revisions", count: 2 },
      revisions: [{ revision: 1, storePath: path }],
    });
    // Either token works; a second PUT adds a revision and keeps the retention.
    const again = await put("web", { storePath: store.realPath(path) }, ENV_TOKEN);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({
      retention: { kind: "revisions", count: 2 },
      revisions: [{ revision: 1 }, { revision: 2, storePath: path }],
    });
    expect((await put("release%201.0", { storePath: path, keepForever: true })).status).toBe(201);

    const list = await call("GET", "/api/v1/pins", { token: TOKEN });
    expect(list.status).toBe(200);
    expect(list.headers["content-type"]).toBe("application/json");
    const names = (JSON.parse(list.body) as { pins: { name: string }[] }).pins.map((p) => p.name);
    expect(names).toEqual(["release 1.0", "web"]);
    const one = await call("GET", "/api/v1/pins/web", { token: TOKEN });
    expect(JSON.parse(one.body)).toMatchObject({ name: "web" });

    const removed = await call("DELETE", "/api/v1/pins/web", { token: TOKEN });
    expect(removed.status).toBe(204);
    expect((await call("DELETE", "/api/v1/pins/web", { token: TOKEN })).status).toBe(404);
    expect((await call("GET", "/api/v1/pins/web", { token: TOKEN })).status).toBe(404);
    expect((await call("DELETE", "/api/v1/pins/release%201.0", { token: TOKEN })).status).toBe(204);
  });

  it("refuses bad names, bodies and paths with a short 4xx", async () => {
    const badNames = [
      "%2e%2e",
      "..",
      "%2e",
      "a%2Fb",
      "",
      ".hidden",
      "a%00b",
      "a%0Ab",
      // A C1 control (NEL), a bidi override and a bidi isolate: as control characters.
      "a%c2%85b",
      "a%e2%80%aeb",
      "a%e2%81%a6b",
      "%ZZ",
      "auto:x",
    ];
    for (const name of badNames) {
      const response = await put(name, { storePath: path });
      expect(response.status, name).toBe(400);
      expect(response.body).toBe("bad request\n");
      expect((await call("DELETE", `/api/v1/pins/${name}`, { token: TOKEN })).status, name).toBe(
        name === "auto:x" ? 404 : 400,
      );
    }
    const badBodies: [string, number][] = [
      ["{", 400],
      ["", 400],
      ["[]", 400],
      ['"x"', 400],
      ["{}", 400],
      [JSON.stringify({ storePath: 5 }), 400],
      [JSON.stringify({ storePath: path, keepDays: "7" }), 400],
      [JSON.stringify({ storePath: path, keepDays: 0 }), 400],
      [JSON.stringify({ storePath: path, keepDays: 1.5 }), 400],
      [JSON.stringify({ storePath: path, keepDays: 7, keepRevisions: 2 }), 400],
      [JSON.stringify({ storePath: path, other: 1 }), 400],
      [JSON.stringify({ storePath: `/nix/store/${"0".repeat(32)}-gone` }), 422],
      [JSON.stringify({ storePath: "/etc/passwd" }), 422],
      [JSON.stringify({ storePath: `${path}/../../../etc` }), 422],
      [JSON.stringify({ storePath: path, padding: "x".repeat(5000) }), 413],
    ];
    for (const [body, status] of badBodies) {
      const response = await call("PUT", "/api/v1/pins/web", { token: TOKEN, body });
      expect(response.status, body.slice(0, 80)).toBe(status);
      expect(response.body).not.toMatch(/\/tmp|sqlite|Error|at /);
      expect(response.body.length).toBeLessThan(40);
    }
    const list = await call("GET", "/api/v1/pins", { token: TOKEN });
    expect(JSON.parse(list.body)).toEqual({ pins: [] });
    expect((await call("POST", "/api/v1/pins/web", { token: TOKEN })).status).toBe(405);
  });
});
