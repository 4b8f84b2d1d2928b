// Range requests on NARs, checked against `nix-store --dump` and a real `curl -C -`.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { narStream } from "../../src/store/nar/nar-stream.ts";
import { httpRequest, narUrl } from "../support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { collect } from "../support/chunks.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

function dump(realPath: string): Buffer {
  return execFileSync("nix-store", ["--dump", realPath], { maxBuffer: 1 << 30 });
}

describe.skipIf(!hasNix)("NAR ranges", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let treePath: string;
  let bigPath: string;
  let treeNar: Buffer;
  let bigNar: Buffer;
  let treeUrl: string;
  let bigUrl: string;

  beforeAll(async () => {
    store = makeTestStore();
    dir = tempDir("storefront-range-");
    const built = nixBuild(store, join(FIXTURES, "store.nix"), ["tree"]);
    const big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]);
    treePath = store.realPath(built.get("tree") ?? "");
    bigPath = store.realPath(big.get("big") ?? "");
    treeNar = dump(treePath);
    bigNar = dump(bigPath);
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n`,
    );
    const hashOf = (path: string): string => path.split("/").pop()?.slice(0, 32) ?? "";
    treeUrl = await narUrl(server.url, hashOf(treePath));
    bigUrl = await narUrl(server.url, hashOf(bigPath));
  });

  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("says it takes ranges, on GET and HEAD", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await httpRequest(treeUrl, { method });
      expect(res.status).toBe(200);
      expect(res.headers["accept-ranges"]).toBe("bytes");
      expect(res.headers["content-length"]).toBe(String(treeNar.length));
    }
  });

  it("serves each form of one range as 206 with the NAR's bytes", async () => {
    const size = treeNar.length;
    const cases: [string, number, number][] = [
      ["bytes=0-0", 0, 1],
      ["bytes=0-99", 0, 100],
      ["bytes=1000-60000", 1000, 60001],
      ["bytes=60000-", 60000, size],
      ["bytes=-300", size - 300, size],
      [`bytes=${size - 1}-${size + 1000}`, size - 1, size],
    ];
    for (const [header, start, end] of cases) {
      const res = await httpRequest(treeUrl, { headers: { range: header } });
      expect(res.status, header).toBe(206);
      expect(res.headers["content-range"], header).toBe(`bytes ${start}-${end - 1}/${size}`);
      expect(res.headers["content-length"], header).toBe(String(end - start));
      expect(res.body.equals(treeNar.subarray(start, end)), header).toBe(true);
    }
  });

  it("answers a range past the end with 416 and the size", async () => {
    const res = await httpRequest(treeUrl, { headers: { range: `bytes=${treeNar.length}-` } });
    expect(res.status).toBe(416);
    expect(res.headers["content-range"]).toBe(`bytes */${treeNar.length}`);
    expect(res.body.toString()).toBe("range not satisfiable\n");
  });

  it("answers several ranges, or a malformed one, with the whole NAR", async () => {
    for (const header of ["bytes=0-1,5-6", "bytes=9-3", "lines=1-2"]) {
      const res = await httpRequest(treeUrl, { headers: { range: header } });
      expect(res.status, header).toBe(200);
      expect(res.body.equals(treeNar), header).toBe(true);
    }
  });

  it("sends a range uncompressed even when the client takes zstd", async () => {
    const res = await httpRequest(treeUrl, {
      headers: { range: "bytes=10-20", "accept-encoding": "zstd, gzip" },
    });
    expect(res.status).toBe(206);
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.body.equals(treeNar.subarray(10, 21))).toBe(true);
  });

  it("honours If-Range only when it names the plain NAR", async () => {
    const etag = (await httpRequest(treeUrl, { method: "HEAD" })).headers["etag"] as string;
    const matching = await httpRequest(treeUrl, {
      headers: { range: "bytes=5-9", "if-range": etag },
    });
    expect(matching.status).toBe(206);
    const stale = await httpRequest(treeUrl, {
      headers: { range: "bytes=5-9", "if-range": '"something-else"' },
    });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(treeNar)).toBe(true);
  });

  it("lets curl -C - resume an interrupted download of a large NAR", () => {
    for (const cut of [1, 4097, 12_345_678, bigNar.length - 7]) {
      const file = join(dir, `partial-${cut}.nar`);
      writeFileSync(file, bigNar.subarray(0, cut));
      execFileSync("curl", ["-sSf", "-C", "-", "-o", file, bigUrl]);
      expect(readFileSync(file).equals(bigNar), `cut at ${cut}`).toBe(true);
    }
  });

  it("streams any window of a NAR byte for byte", async () => {
    const size = treeNar.length;
    const windows: [number, number][] = [[0, size]];
    // Densely where the framing is (the ends), sparsely through the large random file.
    for (
      let start = 0;
      start < size;
      start += start > 20_000 && start < size - 20_000 ? 99_991 : 997
    )
      windows.push([start, Math.min(size, start + 1500)]);
    for (let end = 1; end < 700; end += 13) windows.push([0, end]);
    for (let start = size - 700; start < size; start += 11) windows.push([start, size]);
    for (const [start, end] of windows) {
      const bytes = await collect(narStream(treePath, size, { start, end }));
      expect(bytes.equals(treeNar.subarray(start, end)), `${start}-${end}`).toBe(true);
    }
    const bigTail = await collect(
      narStream(bigPath, bigNar.length, { start: bigNar.length - 200, end: bigNar.length }),
    );
    expect(bigTail.equals(bigNar.subarray(-200))).toBe(true);
  });

  it("fails a window of a NAR whose files no longer match its size", async () => {
    const size = treeNar.length;
    await expect(
      collect(narStream(treePath, size + 8, { start: 10, end: size + 8 })),
    ).rejects.toThrow(/shorter/);
    await expect(
      collect(narStream(treePath, size - 8, { start: 10, end: size - 8 })),
    ).rejects.toThrow(/longer/);
  });
});
