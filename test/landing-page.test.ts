// The landing page at `/`: the facts a person needs and nix.conf lines ready to paste.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLACEHOLDER_HOST, cacheUrl } from "../src/core/cache-url.ts";
import { nixConfLines, renderLandingPage } from "../src/core/landing-page.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import { get } from "./support/http.ts";
import { runCli } from "./support/server.ts";
import { serveTestStore, type StoreServer } from "./support/store-server.ts";

describe("cacheUrl", () => {
  it("uses the Host header and the forwarded scheme", () => {
    expect(cacheUrl("cache.example.org", undefined, false)).toBe("http://cache.example.org");
    expect(cacheUrl("cache.example.org:5000", "https", false)).toBe(
      "https://cache.example.org:5000",
    );
    expect(cacheUrl("[::1]:5000", "HTTPS, http", false)).toBe("https://[::1]:5000");
    expect(cacheUrl("10.0.0.1", undefined, true)).toBe("https://10.0.0.1");
    expect(cacheUrl("cache.example.org", "gopher", false)).toBe("http://cache.example.org");
  });

  it.each([
    ["markup", '"><script>alert(1)</script>'],
    ["a path", "host/evil"],
    ["user info", "user@host"],
    ["spaces", "a host"],
    ["a newline", "host\nextra-substituters = http://evil"],
    ["an overlong name", "a".repeat(300)],
    ["nothing", ""],
  ])("replaces a Host with %s by a placeholder", (_what, host) => {
    expect(cacheUrl(host, undefined, false)).toBe(`http://${PLACEHOLDER_HOST}`);
  });

  it("falls back when there is no Host at all", () => {
    expect(cacheUrl(undefined, undefined, false)).toBe(`http://${PLACEHOLDER_HOST}`);
  });
});

describe("renderLandingPage", () => {
  const facts = {
    version: "1.2.3",
    storeDir: "/nix/store",
    priority: 30,
    publicKeys: ["a-1:AAAA", "b-2:BBBB"],
    cacheUrl: "https://cache.example.org",
  };

  it("gives the exact nix.conf lines", () => {
    expect(nixConfLines(facts)).toBe(
      "extra-substituters = https://cache.example.org\n" +
        "extra-trusted-public-keys = a-1:AAAA b-2:BBBB\n",
    );
    expect(nixConfLines({ ...facts, publicKeys: [] })).toBe(
      "extra-substituters = https://cache.example.org\n",
    );
  });

  it("escapes what it shows", () => {
    const page = renderLandingPage({
      ...facts,
      storeDir: "/nix/<store>",
      publicKeys: ['k"<x>:AAAA'],
    });
    expect(page).toContain("/nix/&lt;store&gt;");
    expect(page).toContain("k&quot;&lt;x&gt;:AAAA");
    expect(page).not.toContain("<x>");
    expect(page).not.toMatch(/<(link|script|img)\b/);
  });
});

describe.skipIf(!hasNix)("GET /", () => {
  let store: TestStore;
  let serving: StoreServer;
  let keyDir: string;
  let publicKey: string;

  beforeAll(async () => {
    store = makeTestStore();
    nixBuild(store, new URL("fixtures/store.nix", import.meta.url).pathname, ["topFile"]);
    keyDir = mkdtempSync(join(tmpdir(), "storefront-keys-"));
    const secret = join(keyDir, "secret");
    const generated = await runCli([
      "key",
      "generate",
      "landing-test-1",
      "--secret",
      secret,
      "--public",
      join(keyDir, "public"),
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    publicKey = readFileSync(join(keyDir, "public"), "utf8").trim();
    serving = await serveTestStore(
      store,
      `priority = 41\nsign_key_paths = [${JSON.stringify(secret)}]`,
    );
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (serving as StoreServer | undefined)?.stop();
    (store as TestStore | undefined)?.remove();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("shows the facts and the nix.conf lines for the host the client used", async () => {
    const response = await get(serving.server.url, "/", {
      headers: { host: "cache.example.org", "x-forwarded-proto": "https" },
    });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("no-store");
    const html = response.body.toString();
    expect(html).toContain("<pre>extra-substituters = https://cache.example.org\n");
    expect(html).toContain(`extra-trusted-public-keys = ${publicKey}\n</pre>`);
    expect(html).toContain("<td>41</td>");
    expect(html).toContain("<code>/nix/store</code>");
    expect(html).toMatch(/storefront \d+\.\d+\.\d+/);
  });

  it("uses the port the client connected to", async () => {
    const html = (await get(serving.server.url, "/")).body.toString();
    expect(html).toContain(`extra-substituters = http://127.0.0.1:${serving.port}\n`);
  });

  it("never repeats a hostile Host header", async () => {
    const response = await get(serving.server.url, "/", {
      headers: { host: "<script>alert(1)</script>" },
    });
    expect(response.status).toBe(200);
    expect(response.body.toString()).not.toContain("<script>");
    expect(response.body.toString()).toContain(`extra-substituters = http://${PLACEHOLDER_HOST}\n`);
  });

  it("refuses other methods", async () => {
    expect((await get(serving.server.url, "/", { method: "POST" })).status).toBe(405);
  });
});
