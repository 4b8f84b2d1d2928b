// The proof that compression does not break clients: a real Nix copies a signed closure from
// storefront with compression on, and a second copy is served from the compressed-NAR cache.
//
// Nix 2.8 (Debian's) sends no Accept-Encoding, though it decodes any Content-Encoding it gets;
// later Nix releases send `zstd, br, gzip, deflate, bzip2, xz` (up to 2.33) or libcurl's list.
// So the copies go through a small proxy that adds the newer header and passes the responses
// through untouched: Nix 2.8 then downloads exactly what a newer Nix would.

import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const NEWER_NIX_ACCEPT_ENCODING = "zstd, br, gzip, deflate, bzip2, xz";

/** A proxy to `port` that sets Accept-Encoding on every request, as a newer Nix would. */
async function acceptEncodingProxy(port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const headers = { ...req.headers, "accept-encoding": NEWER_NIX_ACCEPT_ENCODING };
    const upstream = request(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(!hasNix)("nix copy with compression on", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let proxy: { server: Server; url: string };
  let app: string;
  let publicKey: string;
  const targets: TestStore[] = [];

  beforeAll(async () => {
    store = makeTestStore();
    dir = tempDir("storefront-copy-");
    app = nixBuild(store, join(FIXTURES, "store.nix"), ["app"]).get("app") ?? "";
    execFileSync("nix-store", [
      "--generate-binary-cache-key",
      "storefront-test-1",
      join(dir, "secret"),
      join(dir, "public"),
    ]);
    publicKey = readFileSync(join(dir, "public"), "utf8").trim();
    server = await startServer(
      dir,
      [
        `bind = "127.0.0.1:0"`,
        `real_nix_store = "${store.realStoreDir}"`,
        `sign_key_paths = ["${join(dir, "secret")}"]`,
        "",
      ].join("\n"),
      { env: { NODE_DEBUG: "storefront" } },
    );
    proxy = await acceptEncodingProxy(server.port);
  });

  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => proxy.server.close(resolve));
    store.remove();
    for (const target of targets) target.remove();
  });

  /** `nix copy` of app's closure from `url` into a new store; the signatures are checked. */
  async function copyClosure(url: string): Promise<TestStore> {
    const target = makeTestStore("storefront-copy-target-");
    targets.push(target);
    const args = ["--extra-experimental-features", "nix-command", "copy", "--from", url];
    args.push("--to", target.root, app, "--option", "trusted-public-keys", publicKey);
    // Not spawnSync: the proxy runs in this process and must keep serving meanwhile.
    await promisify(execFile)("nix", args, {
      env: { ...process.env, XDG_CACHE_HOME: join(target.root, "xdg-cache") },
    });
    const copied = execFileSync("nix-store", ["--store", target.root, "-qR", app], {
      encoding: "utf8",
    });
    expect(copied.trim().split("\n")).toHaveLength(4); // app, lib, tree, top-file
    return target;
  }

  const cacheEntries = (): string[] =>
    readdirSync(join(dir, "nars")).filter((name) => name.endsWith(".zst"));
  const cacheHits = (): number =>
    (server.stderr().match(/NAR from the compressed cache/g) ?? []).length;

  it("copies from it directly, as Nix 2.8 asks: no Accept-Encoding, plain NARs", async () => {
    await copyClosure(server.url);
    expect(cacheEntries()).toEqual([]);
  });

  it("copies zstd-compressed NARs, twice, the second time from the compressed cache", async () => {
    await copyClosure(proxy.url);
    // Only a zstd download makes an entry; `tree` is the one NAR of the closure over 1 KiB.
    // The entry is put in place just after the response ends.
    await waitFor(() => cacheEntries().length > 0, "the cache entry");
    const entries = cacheEntries();
    expect(entries).toHaveLength(1);
    expect(cacheHits()).toBe(0);

    await copyClosure(proxy.url);
    expect(cacheHits()).toBe(entries.length);
  });
});
