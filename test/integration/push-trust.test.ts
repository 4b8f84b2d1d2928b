// Push with `[push] trusted_keys` and `max_nar_size`: a path signed by a trusted key lands, an
// unsigned one is refused (a content-addressed .drv needs no signature), an upload over the
// size limit is refused with 413 before it is written; and `nix store copy-log` uploads a build
// log that storefront then serves.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStoreHash } from "../../src/core/nix/store-path.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import {
  baseNameOf,
  FIXTURES,
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  STORE_NIX,
  type TestStore,
  nixCopyTo,
} from "../support/nix.ts";
import { startNixDaemon, type TestDaemon } from "../support/nix-daemon.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "push-token-fedcba9876543210";
const KEYS = join(FIXTURES, "keys");

function validIn(store: TestStore, storePath: string): boolean {
  const database = new StoreDatabase(store.dbPath, "/nix/store");
  try {
    const hash = parseStoreHash(baseNameOf(storePath).slice(0, 32));
    return hash !== undefined && database.pathInfo(hash) !== undefined;
  } finally {
    database.close();
  }
}

describe.skipIf(!hasNix)("push with trusted_keys and max_nar_size", () => {
  let source: TestStore;
  let built: Map<string, string>;
  let noisy: string;
  let daemon: TestDaemon;
  let server: RunningServer;
  let work: string;
  let netrc: string;

  beforeAll(async () => {
    source = makeTestStore("storefront-push-trust-");
    built = nixBuild(source, STORE_NIX, ["topFile", "topExe", "big"]);
    noisy = nixBuild(source, join(FIXTURES, "logs.nix"), ["noisy"]).get("noisy") ?? "";
    daemon = await startNixDaemon();
    work = tempDir("storefront-push-trust-");
    writeFileSync(join(work, "token"), TOKEN, { mode: 0o600 });
    netrc = join(work, "netrc");
    writeFileSync(netrc, `machine 127.0.0.1 login ci password ${TOKEN}\n`);
    const trusted = readFileSync(join(KEYS, "test-1.public"), "utf8").trim();
    server = await startServer(
      work,
      `bind = "127.0.0.1:0"\n${daemon.store.configLine}` +
        `daemon_socket = "${daemon.socketPath}"\nstate_dir = "${join(work, "state")}"\n` +
        `admin_token_paths = ["${join(work, "token")}"]\n` +
        `[push]\nenable = true\ntrusted_keys = ["${trusted}"]\nmax_nar_size = "32M"\n` +
        `[gcroots]\npin_new_paths = true\n`,
    );
  }, 300_000);

  afterAll(async () => {
    await server.stop();
    await daemon.stop();
    source.remove();
  });

  function push(query: string, storePaths: string[], extra: string[] = []): number {
    return nixCopyTo(
      source.root,
      `${server.url}?compression=zstd${query}`,
      netrc,
      storePaths,
      join(work, `cache-${String(Math.random()).slice(2)}`),
      extra,
    ).status;
  }

  const staged = (): string[] => readdirSync(join(work, "state", "uploads"));

  it("refuses a path without a trusted signature, takes a signed one and an unsigned .drv", async () => {
    const topExe = built.get("topExe") ?? "";
    const topFile = built.get("topFile") ?? "";
    expect(push("", [topExe])).not.toBe(0);
    expect(validIn(daemon.store, topExe)).toBe(false);
    // Signed by the wrong key: refused too.
    expect(push(`&secret-key=${join(KEYS, "other-1.secret")}`, [topExe])).not.toBe(0);
    expect(validIn(daemon.store, topExe)).toBe(false);
    expect(push(`&secret-key=${join(KEYS, "test-1.secret")}`, [topFile])).toBe(0);
    expect(validIn(daemon.store, topFile)).toBe(true);
    // Pinned as pin_new_paths pins what arrives by nix-copy-closure.
    const pin = join(
      daemon.store.root,
      "nix/var/nix/gcroots/storefront",
      `auto:${baseNameOf(topFile)}`,
    );
    await waitFor(() => existsSync(pin), "the pushed path to be pinned");
    const drv = spawnSync("nix-store", ["--store", source.root, "-q", "--deriver", topExe], {
      encoding: "utf8",
    }).stdout.trim();
    expect(push("", [drv], ["--derivation"])).toBe(0);
    expect(validIn(daemon.store, drv)).toBe(true);
    expect(staged()).toEqual([]);
  });

  it("refuses a NAR over max_nar_size with 413, and writes none of it", async () => {
    const big = built.get("big") ?? "";
    // 64 MiB of zeros: zstd makes it small, but the NAR is over the limit as it is decoded.
    expect(push(`&secret-key=${join(KEYS, "test-1.secret")}`, [big])).not.toBe(0);
    expect(validIn(daemon.store, big)).toBe(false);
    expect(staged()).toEqual([]);
    // A Content-Length over the limit: 413 at once, before any of the body is read.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/nar/${"0".repeat(52)}.nar`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}`, "content-length": String(64 << 20) },
      });
      req.on("response", (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.write("x".repeat(10));
    });
    expect(status).toBe(413);
    expect(staged()).toEqual([]);
  });

  it("nix store copy-log uploads a build log, which storefront then serves", async () => {
    const drv = spawnSync("nix-store", ["--store", source.root, "-q", "--deriver", noisy], {
      encoding: "utf8",
    }).stdout.trim();
    const copied = nixCommand(
      [
        "--store",
        source.root,
        "store",
        "copy-log",
        "--to",
        server.url,
        "--option",
        "netrc-file",
        netrc,
        drv,
      ],
      join(work, "cache-log"),
    );
    expect(copied.output).toBe(copied.status === 0 ? copied.output : "");
    const response = await fetch(`${server.url}/log/${baseNameOf(drv)}`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("line 29999 of a long log");
  });
});
