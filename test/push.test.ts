// Push: a real Nix 2.8 copies a closure to storefront over HTTP (`nix copy --to http://...`,
// credentials from a netrc file) and the paths land, registered by a real nix-daemon, in the
// store storefront serves; refusals leave the store and the staging directory as they were.

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStoreHash } from "../src/core/store-path.ts";
import { StoreDatabase } from "../src/store/database.ts";
import {
  baseNameOf,
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  STORE_NIX,
  type TestStore,
} from "./support/nix.ts";
import { startNixDaemon, type TestDaemon } from "./support/nix-daemon.ts";
import { startServer, type RunningServer } from "./support/server.ts";
import { tempDir } from "./support/temp.ts";

const TOKEN = "push-token-0123456789abcdef";
const ATTRIBUTES = ["app", "lib", "tree", "topFile", "topExe", "topSymlink", "big"];

function narHashIn(store: TestStore, storePath: string): string | undefined {
  const database = new StoreDatabase(store.dbPath, "/nix/store");
  try {
    const hash = parseStoreHash(baseNameOf(storePath).slice(0, 32));
    return hash === undefined ? undefined : database.pathInfo(hash)?.narHash;
  } finally {
    database.close();
  }
}

describe.skipIf(!hasNix)("nix copy --to storefront (push)", () => {
  let source: TestStore;
  let paths: string[];
  let outputs: string[];
  let drvs: string[];
  let daemon: TestDaemon;
  let server: RunningServer;
  let work: string;
  let netrc: string;
  let wrongNetrc: string;

  beforeAll(async () => {
    source = makeTestStore("storefront-push-source-");
    const built = nixBuild(source, STORE_NIX, ATTRIBUTES);
    // The derivations too: content-addressed (text) paths.
    const derivers = [...built.values()].map((path) =>
      spawnSync("nix-store", ["--store", source.root, "-q", "--deriver", path], {
        encoding: "utf8",
      }).stdout.trim(),
    );
    outputs = [...built.values()];
    drvs = derivers;
    paths = [...outputs, ...drvs];
    daemon = await startNixDaemon();
    work = tempDir("storefront-push-");
    writeFileSync(join(work, "token"), TOKEN, { mode: 0o600 });
    netrc = join(work, "netrc");
    writeFileSync(netrc, `machine 127.0.0.1 login ci password ${TOKEN}\n`);
    wrongNetrc = join(work, "wrong-netrc");
    writeFileSync(wrongNetrc, `machine 127.0.0.1 login ci password not-the-token-at-all\n`);
    server = await startServer(
      work,
      `bind = "127.0.0.1:0"\n${daemon.store.configLine}` +
        `daemon_socket = "${daemon.socketPath}"\nstate_dir = "${join(work, "state")}"\n` +
        `admin_token_paths = ["${join(work, "token")}"]\n[push]\nenable = true\n`,
    );
  }, 300_000);

  afterAll(async () => {
    await server.stop();
    await daemon.stop();
    source.remove();
  });

  function push(
    compression: string,
    netrcFile: string,
    storePaths: string[],
    extra: string[] = [],
  ): ReturnType<typeof nixCommand> {
    return nixCommand(
      [
        "--store",
        source.root,
        "copy",
        "--to",
        `${server.url}?compression=${compression}`,
        "--option",
        "netrc-file",
        netrcFile,
        ...extra,
        ...storePaths,
      ],
      join(work, `cache-${compression}-${String(Math.random()).slice(2)}`),
    );
  }

  const staged = (): string[] => readdirSync(join(work, "state", "uploads"));

  it("refuses a push without a token, or with a wrong one, and lands nothing", () => {
    const topFile = paths[3] ?? "";
    for (const file of [join(work, "no-netrc"), wrongNetrc]) {
      const result = push("xz", file, [topFile]);
      expect(result.status).not.toBe(0);
      expect(narHashIn(daemon.store, topFile)).toBeUndefined();
      expect(staged()).toEqual([]);
    }
  });

  it("lands an xz closure with every shape of path in the served store, same NarHash", () => {
    const result = push("xz", netrc, outputs);
    expect(result.output).toBe(result.status === 0 ? result.output : "");
    expect(result.status).toBe(0);
    // A .drv named on the command line means its outputs; --derivation copies the file itself.
    expect(push("xz", netrc, drvs, ["--derivation"]).status).toBe(0);
    for (const path of paths) {
      expect([path, narHashIn(daemon.store, path)]).toEqual([path, narHashIn(source, path)]);
    }
    expect(staged()).toEqual([]);
    const pushes = readFileSync(join(work, "state", "pushes.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(pushes.length).toBeGreaterThanOrEqual(paths.length);
    expect(JSON.parse(pushes[0] ?? "{}")).toMatchObject({ token: "admin" });
  });

  it("a push of paths already there succeeds without work (zstd, none)", () => {
    for (const compression of ["zstd", "none"]) {
      expect(push(compression, netrc, outputs).status).toBe(0);
      expect(push(compression, netrc, drvs, ["--derivation"]).status).toBe(0);
    }
    expect(staged()).toEqual([]);
  });
});
