// /serve/<hash>-<name>/<path>: store path files for browsers, and every way out of the store.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentTypeFor } from "../../src/http/content-type.ts";
import { renderDirectoryPage } from "../../src/core/pages/directory-page.ts";
import { encodeSegment, parseServePath } from "../../src/core/serve-path.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore, baseNameOf } from "../support/nix.ts";
import { get, takeAndHangUp, type RawResponse } from "../support/http.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

const FIXTURE = new URL("../fixtures/site.nix", import.meta.url).pathname;

describe("serve paths", () => {
  it("decodes percent-escapes to bytes", () => {
    expect(parseServePath("")).toEqual({ segments: [], trailingSlash: false });
    expect(parseServePath("/a/caf%E9/")).toEqual({
      segments: [Buffer.from("a"), Buffer.from([0x63, 0x61, 0x66, 0xe9])],
      trailingSlash: true,
    });
    expect(parseServePath("/with%20space")?.segments).toEqual([Buffer.from("with space")]);
  });

  it.each([
    ["..", "/a/../b"],
    [".", "/a/./b"],
    ["encoded ..", "/%2e%2E/etc"],
    ["encoded .", "/%2e"],
    ["an encoded slash", "/a%2fb"],
    ["NUL", "/a%00"],
    ["an empty segment", "/a//b"],
    ["a broken escape", "/a%zz"],
    ["a half escape", "/a%2"],
    ["an overlong name", `/${"a".repeat(256)}`],
    ["an overlong path", "/a".repeat(3000)],
  ])("refuses %s", (_what, rest) => {
    expect(parseServePath(rest)).toBeUndefined();
  });

  it("encodes names as link segments", () => {
    expect(encodeSegment(Buffer.from("a b/<c>?#"))).toBe("a%20b%2F%3Cc%3E%3F%23");
    expect(encodeSegment(Buffer.from([0xe9]))).toBe("%E9");
    expect(encodeSegment(Buffer.from("a-b_c.d~"))).toBe("a-b_c.d~");
  });

  it("gives text types a charset and unknown ones octet-stream", () => {
    expect(contentTypeFor("index.HTML")).toBe("text/html; charset=utf-8");
    expect(contentTypeFor("style.css")).toBe("text/css; charset=utf-8");
    expect(contentTypeFor("logo.png")).toBe("image/png");
    expect(contentTypeFor("app")).toBe("application/octet-stream");
    expect(contentTypeFor(".bashrc")).toBe("application/octet-stream");
  });

  it("escapes every name on a directory page", () => {
    const page = renderDirectoryPage({
      title: '/nix/store/x-<b>"',
      hasParent: true,
      entries: [{ name: Buffer.from('<img src=x onerror="alert(1)">'), kind: "file", size: 1 }],
    });
    expect(page).not.toContain("<img");
    expect(page).not.toContain("<b>");
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(page).toContain('href="%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E"');
    expect(page).toContain('href="../"');
  });
});

describe.skipIf(!hasNix)("GET /serve/<hash>-<name>/<path>", () => {
  let store: TestStore;
  let serving: StoreServer;
  let site: string;
  let topFile: string;
  let topSymlink: string;

  beforeAll(async () => {
    store = makeTestStore();
    const paths = nixBuild(store, FIXTURE, ["site", "topFile", "topSymlink"]);
    const baseName = (attribute: string): string => baseNameOf(paths.get(attribute) ?? "");
    site = baseName("site");
    topFile = baseName("topFile");
    topSymlink = baseName("topSymlink");
    serving = await serveTestStore(store);
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (serving as StoreServer | undefined)?.stop();
    (store as TestStore | undefined)?.remove();
  });

  const fetchPath = (path: string, method = "GET"): Promise<RawResponse> =>
    get(serving.server.url, path, { method });

  it("serves a file with its content type and length", async () => {
    const css = await fetchPath(`/serve/${site}/assets/style.css`);
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(css.body.toString()).toBe("body{}\n");
    const json = await fetchPath(`/serve/${site}/assets/data.json`);
    expect(json.headers["content-type"]).toBe("application/json");
  });

  it("streams a large file whole", async () => {
    const big = await fetchPath(`/serve/${site}/assets/big.bin`);
    expect(big.status).toBe(200);
    expect(big.headers["content-length"]).toBe("3000000");
    expect(big.body.length).toBe(3_000_000);
    expect(big.body.every((byte) => byte === 0x7a)).toBe(true);
  });

  it("keeps serving after a client goes away mid-file", async () => {
    await takeAndHangUp(`${serving.server.url}/serve/${site}/assets/big.bin`);
    expect((await fetchPath("/health")).status).toBe(200);
    expect(serving.server.stderr()).not.toContain("error");
  });

  it("answers HEAD with the length and no body", async () => {
    const head = await fetchPath(`/serve/${site}/assets/big.bin`, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("3000000");
    expect(head.body.length).toBe(0);
  });

  it("serves a directory's index.html", async () => {
    const docs = await fetchPath(`/serve/${site}/docs/`);
    expect(docs.status).toBe(200);
    expect(docs.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(docs.body.toString()).toBe("<h1>docs</h1>\n");
  });

  it("redirects a directory without its slash, relatively", async () => {
    const docs = await fetchPath(`/serve/${site}/docs`);
    expect(docs.status).toBe(301);
    expect(docs.headers["location"]).toBe("docs/");
    const top = await fetchPath(`/serve/${site}`);
    expect(top.status).toBe(301);
    expect(top.headers["location"]).toBe(`${site}/`);
  });

  it("lists a directory with every name escaped and linked", async () => {
    const listing = await fetchPath(`/serve/${site}/plain-dir/`);
    expect(listing.status).toBe(200);
    expect(listing.headers["content-type"]).toBe("text/html; charset=utf-8");
    const html = listing.body.toString();
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;%2fscript&gt;");
    expect(html).toContain('href="%3Cscript%3Ealert%281%29%3C%252fscript%3E"');
    expect(html).toContain("a&quot;b&amp;c&#39;d");
    expect(html).toContain('href="readme.txt"');
    // The link the page gives leads to the file.
    const linked = await fetchPath(
      `/serve/${site}/plain-dir/%3Cscript%3Ealert%281%29%3C%252fscript%3E`,
    );
    expect(linked.status).toBe(200);
    expect(linked.body.toString()).toBe("x\n");
  });

  it("lists the top of a store path without a link up", async () => {
    const listing = await fetchPath(`/serve/${site}/`);
    expect(listing.status).toBe(200);
    expect(listing.body.toString()).not.toContain('href="../"');
    expect(listing.body.toString()).toContain('href="docs/"');
  });

  it("follows symlinks that stay inside the path or lead to another valid path", async () => {
    expect((await fetchPath(`/serve/${site}/docs-link/index.html`)).body.toString()).toBe(
      "<h1>docs</h1>\n",
    );
    const other = await fetchPath(`/serve/${site}/other-path`);
    expect(other.status).toBe(200);
    expect(other.body.toString()).toBe("just a file\n");
    const viaStoreDir = await fetchPath(`/serve/${site}/store-dir/${topFile}`);
    expect(viaStoreDir.body.toString()).toBe("just a file\n");
  });

  it("serves a store path that is one file", async () => {
    const file = await fetchPath(`/serve/${topFile}`);
    expect(file.status).toBe(200);
    expect(file.body.toString()).toBe("just a file\n");
    expect((await fetchPath(`/serve/${topFile}/`)).status).toBe(404);
  });

  it.each([
    ["a symlink out of the store, absolute", () => `/serve/${site}/abs-out/passwd`],
    ["a symlink out of the store, relative", () => `/serve/${site}/up-and-out`],
    ["a symlink to a path that is not valid", () => `/serve/${site}/invalid-path`],
    ["the store dir itself", () => `/serve/${site}/store-dir/`],
    ["a symlink loop", () => `/serve/${site}/loop-a`],
    ["a path symlink out of the store", () => `/serve/${topSymlink}`],
    ["a missing file", () => `/serve/${site}/nothing-here`],
    ["a file as a directory", () => `/serve/${site}/docs/index.html/x`],
    ["an unknown store path", () => `/serve/${"0".repeat(32)}-site/`],
    ["a valid hash with another name", () => `/serve/${site.slice(0, 32)}-other/`],
  ])("refuses %s with 404", async (_what, path) => {
    const response = await fetchPath(path());
    expect(response.status).toBe(404);
    expect(response.body.toString()).toBe("not found\n");
    expect(response.headers["cache-control"]).toBe("no-store");
  });

  it.each([
    ["..", () => `/serve/${site}/../${topFile}`],
    ["encoded ..", () => `/serve/${site}/%2e%2e/${topFile}`],
    ["an encoded slash", () => `/serve/${site}/docs%2findex.html`],
    ["NUL", () => `/serve/${site}/docs%00`],
    ["a bad store path name", () => "/serve/..%2f..%2fetc/passwd"],
    ["a bad hash", () => `/serve/${"e".repeat(32)}-site/`],
    ["an overlong path", () => `/serve/${site}${"/a".repeat(3000)}`],
  ])("refuses %s with 400", async (_what, path) => {
    const response = await fetchPath(path());
    expect(response.status).toBe(400);
    expect(response.body.toString()).toBe("bad request\n");
  });

  it("never shows a file system path", async () => {
    for (const path of [`/serve/${site}/abs-out/passwd`, `/serve/${site}/%2e%2e/x`]) {
      const text = (await fetchPath(path)).body.toString();
      expect(text).not.toContain(store.root);
      expect(text).not.toContain("/etc");
    }
  });

  it("refuses other methods", async () => {
    expect((await fetchPath(`/serve/${site}/docs/`, "POST")).status).toBe(405);
  });
});
