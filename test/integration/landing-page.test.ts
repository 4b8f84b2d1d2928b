// The landing page at `/`: the facts a person needs and nix.conf lines ready to paste.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLACEHOLDER_HOST, cacheUrl } from "../../src/http/cache-url.ts";
import { nixConfLines, renderLandingPage } from "../../src/core/pages/landing-page.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { get } from "../support/http.ts";
import { generateKey, serveTestStore, type StoreServer } from "../support/server.ts";

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
        "extra-trusted-public-keys = a-1:AAAA b-2:BBBB\n" +
        "connect-timeout = 5\n" +
        "fallback = true\n",
    );
    expect(nixConfLines({ ...facts, publicKeys: [] })).toBe(
      "extra-substituters = https://cache.example.org\nconnect-timeout = 5\nfallback = true\n",
    );
  });

  it("gives the lines the README gives (its client section and its landing page section)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const blocks = [...readme.matchAll(/^```\n(extra-substituters = [^`]*)```$/gm)].map(
      ([, block]) => block,
    );
    const key = "cache.example.org-1:<base64 public key>";
    expect(blocks).toEqual([
      nixConfLines({ ...facts, cacheUrl: "http://cache.example.org:5000", publicKeys: [key] }),
      nixConfLines({ ...facts, cacheUrl: "https://cache.example.org", publicKeys: [key] }),
    ]);
  });

  it("says why the client lines keep a machine working while the cache is down", () => {
    expect(renderLandingPage(facts)).toContain(
      "keep this machine working when the cache is down: Nix stops trying to connect after 5 seconds and builds what it cannot download",
    );
  });

  it("without a key, shows the command that makes one and the config line that uses it", () => {
    const page = renderLandingPage({ ...facts, publicKeys: [] });
    expect(page).toContain("Nix clients refuse the paths built on this machine");
    expect(page).toContain(
      "<pre>storefront key generate cache.example.org-1 --secret /etc/storefront/secret --public /etc/storefront/public</pre>",
    );
    expect(page).toContain("<pre>sign_key_paths = [&quot;/etc/storefront/secret&quot;]</pre>");
    // A key's name cannot hold the colons of an IPv6 address.
    expect(
      renderLandingPage({ ...facts, publicKeys: [], cacheUrl: "http://[::1]:5000" }),
    ).toContain("key generate cache.example.org-1 ");
    expect(renderLandingPage(facts)).not.toContain("key generate");
  });

  it("wraps its long lines (keys, URLs, commands) rather than scroll sideways", () => {
    const style = /<style>([^<]*)<\/style>/.exec(renderLandingPage(facts))?.[1] ?? "";
    expect(style).toMatch(/pre\{[^}]*white-space:pre-wrap/);
    expect(style).toMatch(/pre\{[^}]*overflow-wrap:anywhere/);
    expect(style).toMatch(/code\{[^}]*overflow-wrap:anywhere/);
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

const chromium = ["chromium", "chromium-browser"].find(
  (name) => spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0,
);

// As a phone shows it: every element within 390 px, and none with content wider than its box (a
// <pre> that scrolls sideways). Chromium's headless window is at least 500 px wide, so the page
// itself is held to 390.
const MEASURE = `<script>
const wide = [];
for (const e of document.querySelectorAll("body, body *")) {
  const right = e.getBoundingClientRect().right;
  const overflows = getComputedStyle(e).display !== "inline" && e.scrollWidth > e.clientWidth;
  if (right > 390.5 || overflows) wide.push(e.tagName + " " + Math.round(right) + "px");
}
document.title = "wide: " + wide.join(", ");
</script>`;

// CI installs Chromium (.ci/install-deps): there the test runs, never skips.
describe.skipIf(chromium === undefined && process.env.CI !== "true")(
  "the landing page in a 390 px wide browser",
  () => {
    const longFacts = {
      version: "0.1.0",
      storeDir: "/nix/store",
      priority: 30,
      publicKeys: ["cache.example.org-1:Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cQ=="],
      cacheUrl: "https://a-rather-long-cache-host-name.example.org:5000",
    };

    it.each([
      ["with a key", longFacts],
      ["without a key", { ...longFacts, publicKeys: [] }],
    ])("%s, nothing is wider than the screen", (_what, pageFacts) => {
      const file = join(tempDir("storefront-page-"), "page.html");
      const page = renderLandingPage(pageFacts)
        .replace("</head>", "<style>html{width:390px}</style></head>")
        .replace("</body>", `${MEASURE}</body>`);
      writeFileSync(file, page);
      const dom = execFileSync(
        chromium ?? "chromium",
        ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", `file://${file}`],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60_000 },
      );
      expect(/<title>([^<]*)<\/title>/.exec(dom)?.[1]).toBe("wide: ");
    });
  },
);

describe.skipIf(!hasNix)("GET /", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  let serving: StoreServer;
  let publicKey: string;

  beforeAll(async () => {
    const key = await generateKey(tempDir("storefront-keys-"), "landing-test-1");
    publicKey = readFileSync(key.public, "utf8").trim();
    serving = await serveTestStore(
      built.store,
      `priority = 41\nsign_key_paths = [${JSON.stringify(key.secret)}]`,
    );
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (serving as StoreServer | undefined)?.stop();
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
    expect(html).toContain(
      `extra-trusted-public-keys = ${publicKey}\nconnect-timeout = 5\nfallback = true\n</pre>`,
    );
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
