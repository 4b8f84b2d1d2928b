// Transport compression of NARs and tarballs, as curl and Node's zlib see it.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { httpRequest, narUrl } from "../support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore, hashOf } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { waitForValue } from "../support/wait.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

const DECODERS = {
  zstd: zstdDecompressSync,
  br: brotliDecompressSync,
  gzip: gunzipSync,
};

describe.skipIf(!hasNix)("transport compression", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let plain: RunningServer;
  let treeNar: Buffer;
  let treeHash: string;
  let fileHash: string;

  beforeAll(async () => {
    store = makeTestStore();
    dir = tempDir("storefront-compression-");
    const built = nixBuild(store, join(FIXTURES, "store.nix"), ["tree", "topFile"]);
    const tree = built.get("tree") ?? "";
    treeHash = hashOf(tree);
    fileHash = hashOf(built.get("topFile") ?? "");
    treeNar = execFileSync("nix-store", ["--dump", store.realPath(tree)]);
    const toml = `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n`;
    // No setting: compression is on by default.
    server = await startServer(dir, toml);
    const plainDir = join(dir, "plain");
    execFileSync("mkdir", [plainDir]);
    plain = await startServer(plainDir, `${toml}enable_compression = false\n`);
  });

  afterAll(async () => {
    await server.stop();
    await plain.stop();
    store.remove();
  });

  it("compresses a NAR with each coding a client asks for", async () => {
    const url = await narUrl(server.url, treeHash);
    // The first zstd download goes out plain (nar-cache.test.ts); from the next, zstd.
    await waitForValue("the compressed NAR", async () => {
      const res = await httpRequest(url, { headers: { "accept-encoding": "zstd" } });
      return res.headers["content-encoding"] === "zstd" ? res : undefined;
    });
    for (const [accept, coding] of [
      ["zstd", "zstd"],
      ["br", "br"],
      ["gzip", "gzip"],
      ["deflate, gzip, br, zstd", "zstd"], // libcurl, as Nix 2.34+ sends it
      ["zstd;q=0, gzip, br;q=0.5", "br"],
      ["*;q=0.1, identity;q=0", "zstd"],
    ] as const) {
      const res = await httpRequest(url, { headers: { "accept-encoding": accept } });
      expect(res.status, accept).toBe(200);
      expect(res.headers["content-encoding"], accept).toBe(coding);
      // Compressed as it goes out, so chunked; only a zstd NAR kept on disk has a length.
      const length = res.headers["content-length"];
      if (length !== undefined) expect([coding, Number(length)]).toEqual(["zstd", res.body.length]);
      expect(res.headers["vary"], accept).toBe("Accept-Encoding");
      expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(DECODERS[coding](res.body).equals(treeNar), accept).toBe(true);
    }
  });

  it("sends the plain NAR to clients that take none of ours, and to HEAD", async () => {
    const url = await narUrl(server.url, treeHash);
    for (const accept of ["identity", "deflate, xz", "zstd;q=0, br;q=0, gzip;q=0", undefined]) {
      const headers: Record<string, string> =
        accept === undefined ? {} : { "accept-encoding": accept };
      const res = await httpRequest(url, { headers });
      expect(res.headers["content-encoding"], accept).toBeUndefined();
      expect(res.headers["content-length"], accept).toBe(String(treeNar.length));
      expect(res.headers["vary"], accept).toBe("Accept-Encoding");
      expect(res.body.equals(treeNar), accept).toBe(true);
    }
    const head = await httpRequest(url, { method: "HEAD", headers: { "accept-encoding": "zstd" } });
    expect(head.headers["content-encoding"]).toBeUndefined();
    expect(head.headers["content-length"]).toBe(String(treeNar.length));
  });

  it("does not compress a NAR under 1 KiB", async () => {
    const url = await narUrl(server.url, fileHash);
    const res = await httpRequest(url, { headers: { "accept-encoding": "zstd, gzip" } });
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(Number(res.headers["content-length"])).toBeLessThan(1024);
  });

  it("gives each coding its own ETag, and answers If-None-Match with 304", async () => {
    const url = await narUrl(server.url, treeHash);
    const zstd = await httpRequest(url, { headers: { "accept-encoding": "zstd" } });
    const identity = await httpRequest(url);
    const zstdTag = zstd.headers["etag"] as string;
    const identityTag = identity.headers["etag"] as string;
    expect(identityTag).toMatch(/^"[0-9a-z]{52}"$/);
    expect(zstdTag).toBe(identityTag.replace(/"$/, '-zst"'));
    const notModified = await httpRequest(url, {
      headers: { "accept-encoding": "zstd", "if-none-match": zstdTag },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.headers["etag"]).toBe(zstdTag);
    // The identity ETag does not validate the zstd body.
    const other = await httpRequest(url, {
      headers: { "accept-encoding": "zstd", "if-none-match": identityTag },
    });
    expect(other.status).toBe(200);
  });

  it("compresses a large .ls listing, with its own ETag and 304", async () => {
    const url = `${server.url}/${treeHash}.ls`;
    const plainListing = await httpRequest(url);
    expect(plainListing.body.length).toBeGreaterThan(1024);
    expect(plainListing.headers["etag"]).toMatch(/^"[0-9a-z]{52}-ls"$/);
    expect(plainListing.headers["vary"]).toBe("Accept-Encoding");
    expect(plainListing.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const zstd = await httpRequest(url, { headers: { "accept-encoding": "zstd" } });
    expect(zstd.headers["content-encoding"]).toBe("zstd");
    expect(zstd.headers["content-type"]).toBe("application/json");
    expect(zstdDecompressSync(zstd.body).equals(plainListing.body)).toBe(true);
    const etag = zstd.headers["etag"] as string;
    expect(etag).toBe((plainListing.headers["etag"] as string).replace(/"$/, '-zst"'));
    const notModified = await httpRequest(url, {
      headers: { "accept-encoding": "zstd", "if-none-match": etag },
    });
    expect(notModified.status).toBe(304);
    // A small listing goes out as it is.
    const small = await httpRequest(`${server.url}/${fileHash}.ls`, {
      headers: { "accept-encoding": "zstd" },
    });
    expect(small.headers["content-encoding"]).toBeUndefined();
  });

  it("keeps saying Compression: none in the narinfo", async () => {
    const res = await httpRequest(`${server.url}/${treeHash}.narinfo`, {
      headers: { "accept-encoding": "zstd" },
    });
    expect(res.body.toString()).toContain("\nCompression: none\n");
  });

  it("is decoded by curl --compressed to the NAR that nix-store --dump makes", async () => {
    const url = await narUrl(server.url, treeHash);
    const out = join(dir, "curl.nar");
    const headers = execFileSync("curl", ["-sSf", "--compressed", "-D", "-", "-o", out, url], {
      encoding: "utf8",
    });
    expect(headers).toMatch(/^content-encoding: zstd\r$/m);
    expect(readFileSync(out).equals(treeNar)).toBe(true);
  });

  it("sends nothing compressed when enable_compression = false", async () => {
    const url = await narUrl(plain.url, treeHash);
    const res = await httpRequest(url, { headers: { "accept-encoding": "zstd, br, gzip" } });
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers["vary"]).toBeUndefined();
    expect(res.body.equals(treeNar)).toBe(true);
  });
});
