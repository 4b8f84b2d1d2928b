// The judge: a real Nix client substitutes a closure from storefront with signature checking on.

import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/temp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  hashOf,
} from "../support/nix.ts";
import { parseMetrics } from "../support/metrics.ts";
import { generateKey, startServer, type RunningServer } from "../support/server.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
/** A path whose NAR layout has every kind of span: the second copy reads it from its layout. */
const LAYOUT_FIXTURE = new URL("../fixtures/layout.nix", import.meta.url).pathname;
const OTHER_PUBLIC_KEY = readFileSync(
  new URL("../fixtures/keys/other-1.public", import.meta.url),
  "utf8",
);

/** True when the path is there, even as a dangling symlink. */
function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

describe.skipIf(!hasNix)("nix copy --from storefront", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let server: RunningServer;
  let work: string;
  let publicKey: string;

  beforeAll(async () => {
    store = makeTestStore();
    paths = new Map([
      ...nixBuild(store, FIXTURE, ["app", "lib", "tree", "topFile", "topExe", "topSymlink"]),
      ...nixBuild(store, LAYOUT_FIXTURE, ["spans"]),
    ]);
    work = tempDir("storefront-copy-");
    // A key made by our own CLI: that it works here shows Nix accepts its format.
    const key = await generateKey(work, "copy-test-1");
    publicKey = readFileSync(key.public, "utf8").trim();
    server = await startServer(
      work,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\nsign_key_paths = ["${key.secret}"]\n`,
    );
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  function copyTo(
    destination: string,
    trustedKey: string,
    storePaths: string[],
  ): ReturnType<typeof nixCommand> {
    return nixCommand(
      [
        "copy",
        "--from",
        server.url,
        "--to",
        destination,
        "--option",
        "trusted-public-keys",
        trustedKey,
        ...storePaths,
      ],
      join(destination, "cache"),
    );
  }

  /** Copies every path into `destination` with our key trusted; all must arrive. */
  function copyEverything(destination: TestStore): void {
    const wanted = [...paths.values()];
    const result = copyTo(destination.root, publicKey, wanted);
    expect(result.output).not.toContain("error");
    expect(result.status).toBe(0);
    for (const storePath of wanted) expect(present(destination.realPath(storePath))).toBe(true);
  }

  it("copies a closure with references and derivers, every kind of path, signatures checked", () => {
    const destination = makeTestStore("storefront-dest-");
    try {
      copyEverything(destination);
      // The closure of app came along: lib and tree are its (transitive) references.
      const closure = nixCommand(
        ["path-info", "--store", destination.root, "--recursive", paths.get("app") ?? ""],
        join(destination.root, "cache"),
      );
      expect(closure.output.trim().split("\n").length).toBe(4);
    } finally {
      destination.remove();
    }
  });

  it("copies it all again into another store, the directories' NARs now from their layouts", async () => {
    // The first copy recorded the layouts of the four directories (app, lib, tree, spans).
    const layouts = (): number =>
      readdirSync(join(work, "nars")).filter((name) => name.endsWith(".layout")).length;
    await waitFor(() => layouts() === 4, "the layouts of the first copy");
    const layoutHits = async (): Promise<number> =>
      parseMetrics((await get(server.url, "/metrics")).body.toString()).get(
        "storefront_nar_layout_cache_hits_total",
      ) ?? 0;
    const hits = await layoutHits();
    const destination = makeTestStore("storefront-dest-");
    try {
      copyEverything(destination);
      expect(await layoutHits()).toBe(hits + 4);
    } finally {
      destination.remove();
    }
  });

  it("is refused by a client that trusts only another key", () => {
    const destination = makeTestStore("storefront-dest-");
    try {
      const result = copyTo(destination.root, OTHER_PUBLIC_KEY.trim(), [
        paths.get("topFile") ?? "",
      ]);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/lacks a valid signature|no valid signature/);
      expect(present(destination.realPath(paths.get("topFile") ?? ""))).toBe(false);
    } finally {
      destination.remove();
    }
  });

  it("answers HEAD for narinfos and NARs without a body, as Nix's existence checks use", async () => {
    const hash = hashOf(paths.get("tree") ?? "");
    const head = await get(server.url, `/${hash}.narinfo`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const narinfo = (await get(server.url, `/${hash}.narinfo`)).body.toString();
    const narUrl = /^URL: (.*)$/m.exec(narinfo)?.[1] ?? "";
    const narHead = await get(server.url, `/${narUrl}`, { method: "HEAD" });
    expect(narHead.status).toBe(200);
    expect(narHead.headers["content-length"]).toBe(/^NarSize: (\d+)$/m.exec(narinfo)?.[1]);
    expect(narHead.headers["content-type"]).toBe("application/x-nix-archive");
  });

  it("serves the same NAR under nix-serve's URL forms", async () => {
    const hash = hashOf(paths.get("lib") ?? "");
    const narinfo = (await get(server.url, `/${hash}.narinfo`)).body.toString();
    const narHash = /^NarHash: sha256:(.*)$/m.exec(narinfo)?.[1] ?? "";
    const harmonia = await get(server.url, `/nar/${narHash}.nar?hash=${hash}`);
    const nixServe = await get(server.url, `/nar/${hash}-${narHash}.nar`);
    const older = await get(server.url, `/nar/${hash}.nar`);
    expect(harmonia.status).toBe(200);
    expect(nixServe.body.equals(harmonia.body)).toBe(true);
    expect(older.body.equals(harmonia.body)).toBe(true);
  });
});
