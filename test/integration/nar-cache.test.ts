// The NAR cache seen from outside: a second zstd download of a NAR is a static file with a
// Content-Length, a second plain one comes from the NAR's layout; a cut download or a damaged
// file leaves no entry to be served.

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { httpRequest, narUrl, takeAndHangUp } from "../support/http.ts";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  type TestStore,
  hashOf,
  baseNameOf,
} from "../support/nix.ts";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { parseMetrics } from "../support/metrics.ts";
import { waitFor, waitForValue } from "../support/wait.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const ZSTD = { "accept-encoding": "zstd" };

/** Starts a zstd download, reads its first bytes, and hangs up. */

describe.skipIf(!hasNix)("compressed NAR cache over HTTP", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let treeNar: Buffer;
  let treeHash: string;
  let bigHash: string;
  let bigBaseName: string;
  const cacheDir = (): string => join(dir, "nars");
  const entries = (): string[] => readdirSync(cacheDir()).filter((name) => name.endsWith(".zst"));

  beforeAll(async () => {
    store = makeTestStore();
    dir = tempDir("storefront-narcache-http-");
    const tree = nixBuild(store, join(FIXTURES, "store.nix"), ["tree"]).get("tree") ?? "";
    const big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    treeHash = hashOf(tree);
    bigBaseName = baseNameOf(big);
    bigHash = bigBaseName.slice(0, 32);
    treeNar = execFileSync("nix-store", ["--dump", store.realPath(tree)]);
    // The cache's default place: $CACHE_DIRECTORY/nars, which startServer points into `dir`.
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n`,
      { env: { NODE_DEBUG: "storefront" } },
    );
  });

  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("answers the first zstd download plain and the next ones from the entry made meanwhile", async () => {
    const url = await narUrl(server.url, treeHash);
    const plainTag = (await httpRequest(url, { method: "HEAD" })).headers["etag"];
    // Not compressed yet: the NAR as it is, which a fast link delivers sooner.
    const first = await httpRequest(url, { headers: ZSTD });
    expect(first.headers["content-encoding"]).toBeUndefined();
    expect(first.headers["content-length"]).toBe(String(treeNar.length));
    expect(first.headers["etag"]).toBe(plainTag);
    expect(first.headers["vary"]).toBe("Accept-Encoding");
    expect(first.body.equals(treeNar)).toBe(true);
    // Compressed after it, off the request path.
    await waitFor(() => entries().length === 1, "the cache entry");

    const second = await httpRequest(url, { headers: ZSTD });
    expect(second.headers["content-encoding"]).toBe("zstd");
    expect(second.headers["content-length"]).toBe(String(second.body.length));
    expect(second.headers["etag"]).toBe(String(plainTag).replace(/"$/, '-zst"'));
    expect(zstdDecompressSync(second.body).equals(treeNar)).toBe(true);
    expect(server.stderr()).toContain("NAR from the compressed cache");
    // Byte for byte the same representation, as one strong ETag promises.
    const third = await httpRequest(url, { headers: ZSTD });
    expect(third.body.equals(second.body)).toBe(true);

    // Other codings and ranges do not touch it.
    const gzip = await httpRequest(url, { headers: { "accept-encoding": "gzip" } });
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(entries()).toHaveLength(1);
  });

  it("serves a repeat plain download of a directory from its layout", async () => {
    const url = await narUrl(server.url, treeHash);
    const layoutHits = async (): Promise<number> => {
      const metrics = parseMetrics((await httpRequest(`${server.url}/metrics`)).body.toString());
      return metrics.get("storefront_nar_layout_cache_hits_total") ?? 0;
    };
    expect((await httpRequest(url)).body.equals(treeNar)).toBe(true);
    await waitFor(
      () => readdirSync(cacheDir()).some((name) => name.endsWith(".layout")),
      "the layout",
    );
    const hits = await layoutHits();
    const again = await httpRequest(url);
    expect(again.headers["content-length"]).toBe(String(treeNar.length));
    expect(again.body.equals(treeNar)).toBe(true);
    expect(await layoutHits()).toBe(hits + 1);
    // A range is of the same bytes, walked.
    const range = await httpRequest(url, { headers: { range: "bytes=100-199" } });
    expect(range.status).toBe(206);
    expect(range.body.equals(treeNar.subarray(100, 200))).toBe(true);
  });

  it("serves a HEAD without opening the cache, with the plain NAR's headers", async () => {
    const url = await narUrl(server.url, treeHash);
    const head = await httpRequest(url, { method: "HEAD", headers: ZSTD });
    expect(head.headers["content-encoding"]).toBeUndefined();
    expect(head.headers["content-length"]).toBe(String(treeNar.length));
  });

  it("replaces a damaged entry rather than serving it", async () => {
    const url = await narUrl(server.url, treeHash);
    await httpRequest(url, { headers: ZSTD });
    await waitFor(() => entries().length >= 1, "the cache entry");
    const [name = ""] = entries().filter((entry) =>
      entry.startsWith(url.split("/nar/")[1]?.slice(0, 52) ?? "?"),
    );
    truncateSync(join(cacheDir(), name), 100);
    const res = await httpRequest(url, { headers: ZSTD });
    // Not served: the NAR as it is, and a sound entry made again for the next download.
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.body.equals(treeNar)).toBe(true);
    expect(server.stderr()).toContain("removing a damaged compressed NAR");
    await waitForValue("a sound entry again", async () => {
      const again = await httpRequest(url, { headers: ZSTD });
      return again.headers["content-encoding"] === "zstd" ? again : undefined;
    }).then((again) => {
      expect(zstdDecompressSync(again.body).equals(treeNar)).toBe(true);
    });
  });

  it("keeps nothing of a download the client cut short", async () => {
    const url = await narUrl(server.url, bigHash);
    await takeAndHangUp(url, { headers: ZSTD });
    const bigHashOfNar = url.split("/nar/")[1]?.slice(0, 52) ?? "?";
    // The temporary file goes once the server sees the client gone.
    await waitFor(
      () => readdirSync(cacheDir()).every((name) => !name.startsWith(".tmp-")),
      "the temporary file to go",
    );
    expect(entries().some((name) => name.startsWith(bigHashOfNar))).toBe(false);
    // A whole download then makes the entry.
    const whole = await httpRequest(url, { headers: ZSTD });
    expect(whole.status).toBe(200);
    await waitFor(() => entries().some((name) => name.startsWith(bigHashOfNar)), "the big entry");
    // A client hanging up is no error of storefront's.
    expect(server.stderr()).not.toContain("request failed");
  });

  it("keeps nothing of a NAR whose files changed mid-download", async () => {
    const url = await narUrl(server.url, bigHash);
    const bigHashOfNar = url.split("/nar/")[1]?.slice(0, 52) ?? "?";
    // Its layout too: the NAR is walked, as a first download is.
    for (const name of readdirSync(cacheDir()).filter((entry) => entry.startsWith(bigHashOfNar))) {
      rmSync(join(cacheDir(), name));
    }
    // `z-after` comes after the 24 MiB blob: most of the NAR is compressed and written first.
    const big = store.realPath(`/nix/store/${bigBaseName}`);
    execFileSync("chmod", ["-R", "u+w", big]);
    writeFileSync(join(big, "z-after"), "");

    const res = await httpRequest(url, { headers: ZSTD });
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    await waitFor(
      () => readdirSync(cacheDir()).every((name) => !name.startsWith(".tmp-")),
      "the temporary file to go",
    );
    expect(entries().some((name) => name.startsWith(bigHashOfNar))).toBe(false);
  });

  it("runs without a cache when its directory cannot be made", async () => {
    const other = join(dir, "unusable");
    mkdirSync(other);
    // A regular file where a directory should be: the cache directory cannot be made.
    writeFileSync(join(other, "a-file"), "");
    const blocked = await startServer(
      other,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n[nar_cache]\npath = "${other}/a-file/nars"\n`,
    );
    try {
      expect(blocked.stderr()).toMatch(/warn running without the NAR cache/);
      const res = await httpRequest(await narUrl(blocked.url, treeHash), { headers: ZSTD });
      expect(zstdDecompressSync(res.body).equals(treeNar)).toBe(true);
    } finally {
      await blocked.stop();
    }
  });

  it("refuses a bad max_size, naming the key", async () => {
    const config = join(dir, "bad.toml");
    execFileSync("sh", ["-c", `printf '[nar_cache]\\nmax_size = "lots"\\n' > ${config}`]);
    const result = await runCli(["serve", "--config", config]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"nar_cache.max_size" must be a size in bytes');
  });
});
