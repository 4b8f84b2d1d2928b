// /log/<drv>: build logs as Nix keeps them (bzip2) and as someone may have left them (plain).

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { buildLogDir, buildLogPath, parseDrvBaseName } from "../../src/core/nix/build-log.ts";
import { listsEncoding } from "../../src/http/accept-encoding.ts";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  baseNameOf,
} from "../support/nix.ts";
import { get, takeAndHangUp } from "../support/http.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

const FIXTURE = new URL("../fixtures/logs.nix", import.meta.url).pathname;
const PLAIN_DRV = "0123456789abcdfghijklmnpqrsvwxyz-hand-written.drv";
const CORRUPT_DRV = "0123456789abcdfghijklmnpqrsvwxyz-corrupt.drv";

describe("build log names", () => {
  it("accepts only <hash>-<name>.drv", () => {
    expect(parseDrvBaseName(PLAIN_DRV)).toBe(PLAIN_DRV);
    expect(parseDrvBaseName("0123456789abcdfghijklmnpqrsvwxyz-x")).toBeUndefined();
    expect(parseDrvBaseName("../../../../etc/passwd.drv")).toBeUndefined();
    expect(parseDrvBaseName("0123456789abcdfghijklmnpqrsvwxy-short.drv")).toBeUndefined();
    expect(parseDrvBaseName("0123456789abcdfghijklmnpqrsvwxyz-a/b.drv")).toBeUndefined();
  });

  it("finds the log where Nix writes it", () => {
    const drv = parseDrvBaseName(PLAIN_DRV);
    if (drv === undefined) throw new Error("unreachable");
    const dir = buildLogDir("/tmp/x/nix/store");
    expect(dir).toBe("/tmp/x/nix/var/log/nix/drvs");
    expect(buildLogPath(dir, drv)).toBe(
      "/tmp/x/nix/var/log/nix/drvs/01/23456789abcdfghijklmnpqrsvwxyz-hand-written.drv",
    );
  });

  it("reads Accept-Encoding lists with q-values", () => {
    expect(listsEncoding("zstd, br, gzip, deflate, bzip2, xz", "bzip2")).toBe(true);
    expect(listsEncoding("gzip, deflate, br, zstd", "bzip2")).toBe(false);
    expect(listsEncoding("BZIP2;q=0.5", "bzip2")).toBe(true);
    expect(listsEncoding("bzip2;q=0", "bzip2")).toBe(false);
    expect(listsEncoding("*", "bzip2")).toBe(false);
    expect(listsEncoding(undefined, "bzip2")).toBe(false);
  });
});

describe.skipIf(!hasNix)("GET /log/<drv>", () => {
  let store: TestStore;
  let serving: StoreServer;
  let drvName: string;
  let outPath: string;
  let compressedFile: string;
  const plainLog = "a log written by hand\nwith two lines\n";

  beforeAll(async () => {
    store = makeTestStore();
    outPath =
      nixBuild(
        store,
        FIXTURE,
        ["noisy"],
        [
          // The build's output goes to the log file only, not to our pipe.
          "--no-build-output",
          "--option",
          "substituters",
          "",
        ],
      ).get("noisy") ?? "";
    const drvPath = execFileSync("nix-store", ["--store", store.root, "-q", "--deriver", outPath], {
      encoding: "utf8",
    }).trim();
    drvName = baseNameOf(drvPath);
    const logDir = join(store.root, "nix/var/log/nix/drvs");
    compressedFile = join(logDir, drvName.slice(0, 2), drvName.slice(2) + ".bz2");
    mkdirSync(join(logDir, PLAIN_DRV.slice(0, 2)), { recursive: true });
    writeFileSync(join(logDir, PLAIN_DRV.slice(0, 2), PLAIN_DRV.slice(2)), plainLog);
    const corrupt = Buffer.concat([Buffer.from("BZh9"), Buffer.alloc(4096, 0x55)]);
    writeFileSync(join(logDir, CORRUPT_DRV.slice(0, 2), CORRUPT_DRV.slice(2) + ".bz2"), corrupt);
    serving = await serveTestStore(store);
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (serving as StoreServer | undefined)?.stop();
    (store as TestStore | undefined)?.remove();
  });

  function expectedLog(): string {
    return execFileSync("bzip2", ["-dc", compressedFile], { encoding: "utf8" });
  }

  it("decompresses Nix's bzip2 log for a client that does not take bzip2", async () => {
    const response = await get(serving.server.url, `/log/${drvName}`, {
      headers: { "accept-encoding": "gzip, deflate, br, zstd" },
    });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(response.headers["content-encoding"]).toBeUndefined();
    expect(response.headers["vary"]).toBe("Accept-Encoding");
    const text = response.body.toString();
    expect(text).toBe(expectedLog());
    expect(text).toContain("building on stdout\n");
    expect(text).toContain("a warning on stderr\n");
    expect(text).toContain("line 29999 of a long log\n");
  });

  it("passes the compressed file through to a client that lists bzip2", async () => {
    const response = await get(serving.server.url, `/log/${drvName}`, {
      headers: { "accept-encoding": "zstd, br, gzip, deflate, bzip2, xz" },
    });
    expect(response.status).toBe(200);
    expect(response.headers["content-encoding"]).toBe("bzip2");
    expect(response.body.equals(readFileSync(compressedFile))).toBe(true);
    expect(response.headers["content-length"]).toBe(String(response.body.length));
  });

  it("is what a real Nix client shows with nix log", () => {
    const cacheHome = tempDir("storefront-nix-cache-");
    const client = makeTestStore();
    try {
      const result = nixCommand(
        [
          "log",
          "--store",
          client.root,
          "--option",
          "substituters",
          `http://127.0.0.1:${serving.port}`,
          outPath,
        ],
        cacheHome,
      );
      expect(result.status, result.output).toBe(0);
      expect(result.output).toContain("line 29999 of a long log");
    } finally {
      client.remove();
    }
  });

  it("keeps serving after a client goes away mid-log", async () => {
    await takeAndHangUp(`${serving.server.url}/log/${drvName}`);
    const health = await get(serving.server.url, "/health");
    expect(health.status).toBe(200);
    expect(serving.server.stderr()).not.toContain("error");
  });

  it("cuts the connection rather than end a corrupt log as if complete", async () => {
    // Cut before or after the headers went out, but never a complete 200.
    const outcome = await get(serving.server.url, `/log/${CORRUPT_DRV}`).then(
      (response) => (response.complete ? `complete ${response.status}` : "cut"),
      () => "cut",
    );
    expect(outcome).toBe("cut");
    const health = await get(serving.server.url, "/health");
    expect(health.status).toBe(200);
  });

  it("serves a plain log as it is", async () => {
    const response = await get(serving.server.url, `/log/${PLAIN_DRV}`);
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe(plainLog);
    expect(response.headers["content-length"]).toBe(String(Buffer.byteLength(plainLog)));
    expect(response.headers["content-encoding"]).toBeUndefined();
  });

  it("answers HEAD without a body", async () => {
    const response = await get(serving.server.url, `/log/${PLAIN_DRV}`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
  });

  it.each([
    ["a log Nix never wrote", `/log/${"1".repeat(32)}-nothing.drv`, 404],
    ["a name without .drv", `/log/${"1".repeat(32)}-nothing`, 400],
    ["an encoded traversal", "/log/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400],
    ["a traversal", "/log/../../etc/passwd", 404],
    ["a bad hash", `/log/${"e".repeat(32)}-x.drv`, 400],
    ["an overlong name", `/log/${"1".repeat(32)}-${"a".repeat(5000)}.drv`, 400],
  ])("refuses %s with a short fixed body", async (_what, path, status) => {
    const response = await get(serving.server.url, path);
    expect(response.status).toBe(status);
    expect(response.body.toString()).toMatch(/^(bad request|not found)\n$/);
  });

  it("refuses other methods", async () => {
    const response = await get(serving.server.url, `/log/${PLAIN_DRV}`, { method: "DELETE" });
    expect(response.status).toBe(405);
  });
});
