// A store path deleted and built again while its NAR downloads (a build that is not
// deterministic: the same path, other bytes) never gives a complete body: the response is cut
// before its last byte, whether the NAR is walked (hashed as it streams), compressed, a range,
// or read from a layout recorded earlier; nothing is cached from the mixed bytes, and the next
// download gives the new build's NAR.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, narUrlOf } from "../support/http.ts";
import { FIXTURES, hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { parseMetrics } from "../support/metrics.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { slowDownload } from "../support/slow-client.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor, waitForValue } from "../support/wait.ts";

const REBUILT_NIX = join(FIXTURES, "rebuilt.nix");
/** As fast as the client can: the test stalls it while the path is built again. */
const FAST = 1 << 30;
/** A client that takes no NAR as it is: compressed as it goes out (no entry to wait for). */
const ZSTD = { "accept-encoding": "zstd, identity;q=0" };

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
/** The nix-base32 NarHash a NAR URL names (`nar/<narhash>.nar?hash=...`). */
const narHashOfUrl = (url: string): string => /\/nar\/([0-9a-z]{52})\.nar/.exec(url)?.[1] ?? "";

describe.skipIf(!hasNix)("a store path built again while its NAR downloads", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let paths: Map<string, string>;

  beforeAll(async () => {
    store = makeTestStore();
    paths = nixBuild(store, REBUILT_NIX, ["plain", "zstd", "range", "layout"]);
    dir = tempDir("storefront-rebuilt-");
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 1\nreal_nix_store = "${store.realStoreDir}"\n`,
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  const pathOf = (name: string): string => paths.get(name) ?? "";
  const dump = (name: string): Buffer =>
    execFileSync("nix-store", ["--dump", store.realPath(pathOf(name))], { maxBuffer: 1 << 27 });
  /** The NAR cache's entries (and temporary files) for a NarHash. */
  const cached = (narHash32: string): string[] =>
    readdirSync(join(dir, "nars")).filter((file) => file.includes(narHash32));

  const layoutHits = async (): Promise<number> => {
    const metrics = parseMetrics((await httpRequest(`${server.url}/metrics`)).body.toString());
    return metrics.get("storefront_nar_layout_cache_hits_total") ?? 0;
  };

  /** Deletes the path and builds it again: the same path, other bytes. */
  function rebuild(name: string): void {
    execFileSync("nix-store", ["--store", store.root, "--delete", pathOf(name)], {
      stdio: "ignore",
    });
    nixBuild(store, REBUILT_NIX, [name]);
  }

  /**
   * Starts a download of `name`'s NAR, lets its first MiB arrive, holds the client (the server
   * stops inside the 32 MiB first file, socket buffers full) while the path is built again,
   * then reads on. Returns what the client got, and the NAR URLs before and after.
   */
  async function downloadDuringRebuild(name: string, headers: Record<string, string> = {}) {
    const before = dump(name);
    const oldUrl = await narUrlOf(server, pathOf(name));
    const download = slowDownload(oldUrl, FAST, headers);
    await download.received(1 << 20);
    download.stall();
    rebuild(name);
    const after = dump(name);
    expect(sha256(after)).not.toBe(sha256(before));
    download.resume();
    const result = await download.done;
    // The narinfo cache follows the database: wait for the new NarHash's URL.
    const newUrl = await waitForValue("the new narinfo", async () => {
      const url = await narUrlOf(server, pathOf(name));
      return url === oldUrl ? undefined : url;
    });
    return { result, before, after, oldUrl, newUrl };
  }

  it("cuts a first download, records no layout from it, and serves the new build next", async () => {
    // The first build, to bring it back at the end.
    const firstBuild = execFileSync(
      "nix-store",
      ["--store", store.root, "--export", pathOf("plain")],
      { maxBuffer: 1 << 27 },
    );
    const { result, before, after, oldUrl, newUrl } = await downloadDuringRebuild("plain");
    expect(result.status).toBe(200);
    expect(result.contentLength).toBe(before.length);
    expect(result.complete).toBe(false);
    expect(result.bytes).toBeLessThan(result.contentLength);
    // Nothing kept from the mixed walk: no layout, and its temporary file goes.
    await waitFor(() => cached(narHashOfUrl(oldUrl)).length === 0, "no entry for the old NAR");

    // The next downloads, walked then from the layout they record, are the new build's NAR.
    const walked = await httpRequest(newUrl);
    expect(walked.complete).toBe(true);
    expect(walked.body.equals(after)).toBe(true);
    const layout = join(dir, "nars", `${narHashOfUrl(newUrl)}.layout`);
    await waitFor(() => existsSync(layout), "the new build's layout");
    const fromLayout = await httpRequest(newUrl);
    expect(fromLayout.body.equals(after)).toBe(true);

    // The first build brought back (imported again): its NAR, walked then from its layout, is
    // its own, not one recorded from the mixed walk.
    execFileSync("nix-store", ["--store", store.root, "--delete", pathOf("plain")], {
      stdio: "ignore",
    });
    execFileSync("nix-store", ["--store", store.root, "--import"], {
      input: firstBuild,
      stdio: ["pipe", "ignore", "ignore"],
    });
    await waitForValue("the first build's narinfo", async () => {
      const url = await narUrlOf(server, pathOf("plain"));
      return url === oldUrl ? url : undefined;
    });
    expect((await httpRequest(oldUrl)).body.equals(before)).toBe(true);
    await waitFor(() => cached(narHashOfUrl(oldUrl)).length === 1, "the first build's layout");
    expect((await httpRequest(oldUrl)).body.equals(before)).toBe(true);
  });

  it("cuts a compressed first download, and keeps no compressed entry from it", async () => {
    const { result, after, oldUrl, newUrl } = await downloadDuringRebuild("zstd", ZSTD);
    expect(result.status).toBe(200);
    expect(result.complete).toBe(false);
    // Neither a compressed entry nor a layout; their temporary files go.
    await waitFor(() => cached(narHashOfUrl(oldUrl)).length === 0, "no entry for the old NAR");

    const next = await httpRequest(newUrl, { headers: ZSTD });
    expect(next.headers["content-encoding"]).toBe("zstd");
    expect(zstdDecompressSync(next.body).equals(after)).toBe(true);
  });

  it("cuts a range that reaches the end", async () => {
    const { result, before } = await downloadDuringRebuild("range", { range: "bytes=1-" });
    expect(result.status).toBe(206);
    expect(result.contentLength).toBe(before.length - 1);
    expect(result.complete).toBe(false);
    expect(result.bytes).toBeLessThan(result.contentLength);
  });

  it("cuts a download from a layout recorded before the path was built again", async () => {
    const url = await narUrlOf(server, pathOf("layout"));
    const first = await httpRequest(url);
    expect(first.body.equals(dump("layout"))).toBe(true);
    await waitFor(
      () => existsSync(join(dir, "nars", `${narHashOfUrl(url)}.layout`)),
      "the layout entry",
    );

    const hits = await layoutHits();
    const { result, oldUrl, after, newUrl } = await downloadDuringRebuild("layout");
    expect(oldUrl).toBe(url);
    expect(await layoutHits()).toBe(hits + 1);
    expect(result.status).toBe(200);
    expect(result.complete).toBe(false);
    expect(result.bytes).toBeLessThan(result.contentLength);
    expect((await httpRequest(newUrl)).body.equals(after)).toBe(true);
  });
});
