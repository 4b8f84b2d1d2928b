// A private cache ([access] public = false) against a real Nix 2.8 client: Nix reads it with a
// netrc file and checks signatures, and is refused without one or with a wrong password;
// Bearer works for curl; scopes decide who may pin; and no secret shows anywhere.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { get, type RawResponse } from "../support/http.ts";
import {
  baseNameOf,
  hashOf,
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
} from "../support/nix.ts";
import { generateKey, runCli, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;

const basic = (login: string, secret: string): string =>
  `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}`;

/** Makes a token with the CLI, as the README says; returns its secret. */
async function makeToken(dir: string, name: string, scopes: string): Promise<string> {
  const secretPath = join(dir, `${name}.secret`);
  const made = await runCli([
    "token",
    "generate",
    name,
    "--scopes",
    scopes,
    "--secret",
    secretPath,
  ]);
  expect(made.code, made.stderr).toBe(0);
  const secret = readFileSync(secretPath, "utf8").trim();
  expect(made.stdout).toContain(`login ${name} password ${secret}`);
  return secret;
}

describe.skipIf(!hasNix)("a private cache", () => {
  let store: TestStore;
  let server: RunningServer;
  let work: string;
  let publicKey: string;
  let app = "";
  let readSecret = "";
  let pinSecret = "";
  const responses: RawResponse[] = [];

  const request = async (
    path: string,
    headers: Record<string, string> = {},
    method = "GET",
    body?: string,
  ) => {
    const response = await get(server.url, path, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    responses.push(response);
    return response;
  };

  beforeAll(async () => {
    store = makeTestStore("storefront-private-");
    app = nixBuild(store, FIXTURE, ["app"]).get("app") ?? "";
    work = tempDir("storefront-private-");
    const key = await generateKey(work, "private-test-1");
    publicKey = readFileSync(key.public, "utf8").trim();
    readSecret = await makeToken(work, "ci", "read");
    pinSecret = await makeToken(work, "deploy", "read,pin");
    server = await startServer(
      work,
      [
        `bind = "127.0.0.1:0"`,
        `real_nix_store = "${store.realStoreDir}"`,
        `sign_key_paths = ["${key.secret}"]`,
        `[access]`,
        `public = false`,
        `[[access.tokens]]`,
        `name = "ci"`,
        `secret_path = "${join(work, "ci.secret")}"`,
        `scopes = ["read"]`,
        `[[access.tokens]]`,
        `name = "deploy"`,
        `secret_path = "${join(work, "deploy.secret")}"`,
        `scopes = ["read", "pin"]`,
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  /** `nix copy --from` the cache into a new store, with `netrc` (a file's text) or none. */
  function copy(netrc: string | undefined): {
    status: number;
    output: string;
    destination: string;
  } {
    const destination = tempDir("storefront-private-copy-");
    const netrcFile = join(destination, "netrc");
    if (netrc !== undefined) writeFileSync(netrcFile, netrc, { mode: 0o600 });
    const result = nixCommand(
      [
        "copy",
        "--from",
        server.url,
        "--to",
        join(destination, "store"),
        "--option",
        "trusted-public-keys",
        publicKey,
        // Without a netrc: a file that is not there, so that /etc/nix/netrc plays no part.
        "--option",
        "netrc-file",
        netrcFile,
        app,
      ],
      join(destination, "cache"),
    );
    return { ...result, destination };
  }

  it("is read by nix copy with a netrc file, signatures checked", () => {
    const result = copy(`machine 127.0.0.1 login ci password ${readSecret}\n`);
    expect(result.status, result.output).toBe(0);
    expect(existsSync(join(result.destination, "store", "nix/store", baseNameOf(app)))).toBe(true);
  });

  it("refuses nix copy without a netrc file or with a wrong password, and logs a 401", async () => {
    const before = server.stderr().length;
    const without = copy(undefined);
    expect(without.status).not.toBe(0);
    // Nix 2.8 takes a refused nix-cache-info for a URL that is no cache; the server says why.
    expect(without.output).toMatch(/does not appear to be a binary cache|401/);
    const logged = () => server.stderr().slice(before);
    await waitFor(() => logged().includes("reason=missing"), "the refusal's log line");
    expect(logged()).toMatch(
      /authentication failed status=401 reason=missing client=\S+ route=\/nix-cache-info/,
    );
    const wrong = copy(`machine 127.0.0.1 login ci password ${readSecret}x\n`);
    expect(wrong.status).not.toBe(0);
    await waitFor(() => logged().includes("reason=invalid"), "the refusal's log line");
    expect(logged()).toMatch(
      /authentication failed status=401 reason=invalid client=\S+ login=ci route=/,
    );
  });

  it("refuses every route that shows the store without credentials, and opens /, /health, /version, /metrics", async () => {
    const info = await request(`/${hashOf(app)}.narinfo`, {
      authorization: basic("ci", readSecret),
    });
    expect(info.status).toBe(200);
    const narPath = "/" + (/^URL: (.*)$/m.exec(info.body.toString())?.[1] ?? "");
    const storePaths = [
      "/nix-cache-info",
      `/${hashOf(app)}.narinfo`,
      narPath,
      `/${hashOf(app)}.ls`,
      `/${hashOf(app)}.tar`,
      `/log/${baseNameOf(app)}.drv`,
      `/serve/${baseNameOf(app)}/`,
      `/realisations/sha256:${"0".repeat(64)}!out.doi`,
    ];
    for (const path of storePaths) {
      for (const headers of [
        {},
        { authorization: basic("ci", "not-the-secret-0123456789") },
        { authorization: "Bearer nope" },
      ]) {
        const refused = await request(path, headers);
        expect(refused.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(refused.headers["www-authenticate"]).toBe('Basic realm="storefront"');
        expect(refused.body.toString()).toBe("unauthorized\n");
      }
      const allowed = await request(path, { authorization: basic("ci", readSecret) });
      expect([200, 404], path).toContain(allowed.status);
      expect((await request(path, { authorization: `Bearer ${pinSecret}` })).status).toBe(
        allowed.status,
      );
    }
    for (const path of ["/", "/health", "/version", "/metrics"]) {
      expect((await request(path)).status, path).toBe(200);
    }
  });

  it("keeps its answers from shared caches: Cache-Control private, never public", async () => {
    const authorization = basic("ci", readSecret);
    const info = await request(`/${hashOf(app)}.narinfo`, { authorization });
    expect(info.headers["cache-control"]).toBe("private, max-age=60");
    const nar = await request("/" + (/^URL: (.*)$/m.exec(info.body.toString())?.[1] ?? ""), {
      authorization,
    });
    expect(nar.status).toBe(200);
    expect(nar.headers["cache-control"]).toBe("private, max-age=31536000, immutable");
    const cacheInfo = await request("/nix-cache-info", { authorization });
    expect(cacheInfo.headers["cache-control"]).toBe("private, max-age=3600");
  });

  it("takes Bearer from curl", async () => {
    const ok = await curl([
      "-H",
      `Authorization: Bearer ${readSecret}`,
      `${server.url}/nix-cache-info`,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.body).toContain("StoreDir: /nix/store");
    const refused = await curl([
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `${server.url}/nix-cache-info`,
    ]);
    expect(refused.body).toBe("401");
  });

  it("lets a pin token pin, and refuses a read token (403)", async () => {
    const body = JSON.stringify({ storePath: app });
    const refused = await request(
      "/api/v1/pins/web",
      { authorization: basic("ci", readSecret) },
      "PUT",
      body,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.toString()).toBe("forbidden\n");
    const pinned = await request(
      "/api/v1/pins/web",
      { authorization: basic("deploy", pinSecret) },
      "PUT",
      body,
    );
    expect(pinned.status).toBe(201);
    const listed = await request("/api/v1/pins", { authorization: `Bearer ${pinSecret}` });
    expect(listed.status).toBe(200);
  });

  it("says on its landing page that it is private, with the netrc and nix.conf lines", async () => {
    const page = (await request("/")).body.toString();
    expect(page).toContain("This cache is private");
    expect(page).toContain("machine 127.0.0.1 login TOKEN-NAME password TOKEN-SECRET");
    expect(page).toContain("netrc-file = /etc/nix/netrc");
    expect(page).toContain(`extra-substituters = ${server.url}`);
    expect(page).toContain(publicKey);
  });

  it("counts refusals in /metrics by reason, and shows no secret in any response, log or metric", async () => {
    const metrics = (await request("/metrics")).body.toString();
    expect(metrics).toMatch(/storefront_auth_failures_total\{reason="missing"\} [1-9]/);
    expect(metrics).toMatch(/storefront_auth_failures_total\{reason="invalid"\} [1-9]/);
    expect(metrics).toMatch(/storefront_auth_failures_total\{reason="forbidden"\} [1-9]/);
    expect(responses.length).toBeGreaterThan(40);
    const seen = [
      server.stderr(),
      ...responses.map((r) => `${JSON.stringify(r.headers)}\n${r.body.toString("latin1")}`),
    ].join("\n");
    for (const secret of [readSecret, pinSecret]) {
      expect(seen).not.toContain(secret);
      expect(seen).not.toContain(secret.slice(0, 12));
    }
  });
});
