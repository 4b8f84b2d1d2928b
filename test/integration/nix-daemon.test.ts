// The Nix daemon client against a real nix-daemon (Nix 2.8, protocol 1.34) on a throw-away
// store: paths built in another store are added from their NARs, and the real Nix CLI checks
// what the daemon registered.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PathInfo } from "../../src/core/nix/path-info.ts";
import type { Realisation } from "../../src/core/nix/realisation.ts";
import { parseStoreHash } from "../../src/core/nix/store-path.ts";
import { NixDaemonClient, NixDaemonError, type NarImport } from "../../src/nix-daemon/index.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import {
  baseNameOf,
  hasNix,
  makeTestStore,
  nixBuild,
  STORE_NIX,
  type TestStore,
} from "../support/nix.ts";
import { startNixDaemon, type TestDaemon } from "../support/nix-daemon.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor, waitForValue } from "../support/wait.ts";

const ATTRIBUTES = ["tree", "lib", "app", "topFile", "topExe", "topSymlink"];

/** The path's metadata in `store`, read with storefront's own database reader. */
function pathInfoIn(store: TestStore, storePath: string): PathInfo {
  const database = new StoreDatabase(store.dbPath, "/nix/store");
  try {
    const hash = parseStoreHash(baseNameOf(storePath).slice(0, 32));
    const info = hash === undefined ? undefined : database.pathInfo(hash);
    if (info === undefined) throw new Error(`${storePath} is not valid in ${store.root}`);
    return info;
  } finally {
    database.close();
  }
}

/** `nix-store --dump` of the path's files, streamed: the NAR never sits whole in memory. */
function dumpNar(store: TestStore, storePath: string): Readable {
  const child = spawn("nix-store", ["--dump", store.realPath(storePath)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return child.stdout;
}

function importOf(info: PathInfo, extra: Partial<NarImport> = {}): NarImport {
  return {
    storePath: info.storePath,
    deriver: info.deriver,
    narHash: info.narHash,
    narSize: info.narSize,
    references: info.references,
    signatures: info.signatures,
    ca: info.ca,
    dontCheckSigs: true,
    ...extra,
  };
}

function nixStore(daemon: TestDaemon, args: readonly string[]): { status: number; output: string } {
  const result = spawnSync("nix-store", ["--store", daemon.store.root, ...args], {
    encoding: "utf8",
  });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!hasNix)("the Nix daemon client against nix-daemon 2.8", () => {
  let source: TestStore;
  let paths: Map<string, string>;
  let daemon: TestDaemon;
  let client: NixDaemonClient;
  const path = (attribute: string): string => paths.get(attribute) ?? "";

  beforeAll(async () => {
    source = makeTestStore("storefront-daemon-source-");
    paths = nixBuild(source, STORE_NIX, ATTRIBUTES);
    daemon = await startNixDaemon();
    client = new NixDaemonClient({ socketPath: daemon.socketPath });
  });

  afterAll(async () => {
    client.close();
    await daemon.stop();
    source.remove();
  });

  async function add(attribute: string, extra: Partial<NarImport> = {}): Promise<void> {
    const info = pathInfoIn(source, path(attribute));
    await client.addToStoreNar(importOf(info, extra), dumpNar(source, info.storePath));
  }

  it("negotiates protocol 1.34 with Nix 2.8 and learns its version", async () => {
    const info = await client.info();
    expect(info.version).toBe((1 << 8) | 34);
    expect(info.daemonVersion).toBe((1 << 8) | 34);
    expect(info.daemonNixVersion).toBe("2.8.0");
    expect(info.features.size).toBe(0);
    expect(info.daemonTrustsUs).toBeUndefined();
  });

  it("refuses a path whose reference is not valid yet, and registers nothing", async () => {
    expect(await client.isValidPath(path("lib"))).toBe(false);
    const error = await add("lib").catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NixDaemonError);
    expect(error).toMatchObject({ kind: "daemon" });
    const message = (error as NixDaemonError).daemonMessage;
    expect(message).toContain(path("tree"));
    // Nix colours the paths in its messages; a message passed on to a client must not carry that.
    expect(message.includes("\u001b")).toBe(false);
    expect(await client.isValidPath(path("lib"))).toBe(false);
  });

  it("adds paths, references first; the daemon and `nix-store --verify-path` agree", async () => {
    for (const attribute of ["tree", "topFile", "lib", "app"]) {
      expect(await client.isValidPath(path(attribute))).toBe(false);
      await add(attribute);
      expect(await client.isValidPath(path(attribute))).toBe(true);
      const expected = pathInfoIn(source, path(attribute));
      const registered = await client.queryPathInfo(path(attribute));
      expect(registered).toMatchObject({
        storePath: expected.storePath,
        narHash: expected.narHash,
        narSize: expected.narSize,
        references: expected.references,
        deriver: expected.deriver,
      });
      expect(pathInfoIn(daemon.store, path(attribute)).narHash).toBe(expected.narHash);
      const verify = nixStore(daemon, ["--verify-path", path(attribute)]);
      expect(verify).toEqual({ status: 0, output: "" });
    }
    const app = await client.queryPathInfo(path("app"));
    expect(app?.references).toEqual([path("lib"), path("topFile")].sort());
    // Registered now (we sent 0 for "now"), and not "ultimate": it was built elsewhere.
    expect(Math.abs((app?.registrationTime ?? 0) - Date.now() / 1000)).toBeLessThan(3600);
    expect(app?.ultimate).toBe(false);
  });

  it("refuses a NAR cut off half way, registers nothing, and goes on serving", async () => {
    const info = pathInfoIn(source, path("topExe"));
    const whole = dumpNar(source, info.storePath);
    async function* cut(): AsyncGenerator<Buffer> {
      let sent = 0;
      for await (const chunk of whole as AsyncIterable<Buffer>) {
        if (sent + chunk.length >= info.narSize / 2) {
          yield chunk.subarray(0, Math.floor(info.narSize / 2) - sent);
          whole.destroy();
          throw new Error("the uploader went away");
        }
        sent += chunk.length;
        yield chunk;
      }
    }
    await expect(client.addToStoreNar(importOf(info), cut())).rejects.toThrow(
      "the uploader went away",
    );
    expect(await client.isValidPath(path("topExe"))).toBe(false);
    expect(await client.isValidPath(path("app"))).toBe(true);
  });

  it("refuses a NAR that does not match its hash, and leaves nothing behind", async () => {
    const wrong = pathInfoIn(source, path("topFile")).narHash;
    const error = await add("topExe", { narHash: wrong }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ kind: "daemon" });
    expect((error as NixDaemonError).daemonMessage).toMatch(/hash mismatch/);
    expect(await client.isValidPath(path("topExe"))).toBe(false);
    expect(await client.queryPathInfo(path("topExe"))).toBeUndefined();
    // Nix 2.8 leaves what it unpacked on disk, unregistered: garbage, which Nix treats as absent
    // (the next import of the path replaces it, the collector deletes it).
    expect(nixStore(daemon, ["--check-validity", path("topExe")]).status).not.toBe(0);
  });

  it("checks signatures unless told not to: an unsigned path is refused", async () => {
    const error = await add("topExe", { dontCheckSigs: false }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ kind: "daemon" });
    expect((error as NixDaemonError).daemonMessage).toMatch(/lacks a valid signature/);
    expect(await client.isValidPath(path("topExe"))).toBe(false);
  });

  it("takes a content-addressed path (a .drv) without a signature, and its build log", async () => {
    const drv = pathInfoIn(source, path("topFile")).deriver ?? "";
    const drvInfo = pathInfoIn(source, drv);
    expect(drvInfo.ca).toMatch(/^text:sha256:/);
    await client.addToStoreNar(importOf(drvInfo, { dontCheckSigs: false }), dumpNar(source, drv));
    expect((await client.queryPathInfo(drv))?.ca).toBe(drvInfo.ca);

    const log = "building top-file\n".repeat(10_000) + "done\n";
    await client.addBuildLog(drv, Readable.from([Buffer.from(log)]));
    expect(nixStore(daemon, ["--read-log", drv])).toEqual({ status: 0, output: log });
  });

  it("collects a dead path it is asked to, and refuses a live one", async () => {
    await add("topExe");
    await add("topSymlink");
    // Paths added over a connection are its temporary roots until its daemon worker exits,
    // a moment after the client closes it: wait for that rather than for a fixed time.
    const dead = await waitForValue("topExe to be garbage", async () => {
      const result = await client.collectGarbage({ action: "return-dead" });
      return result.paths.includes(path("topExe")) ? result : undefined;
    });
    expect(dead.paths).toContain(path("tree"));
    expect(await client.isValidPath(path("topExe"))).toBe(true);

    const collected = await client.collectGarbage({
      action: "delete-specific",
      paths: [path("topExe")],
    });
    expect(collected.paths).toContain(path("topExe"));
    expect(collected.bytesFreed).toBeGreaterThan(0);
    expect(await client.isValidPath(path("topExe"))).toBe(false);
    expect(existsSync(daemon.store.realPath(path("topExe")))).toBe(false);

    // `tree` is referenced by `lib`, which is valid: alive.
    const live = await client
      .collectGarbage({ action: "delete-specific", paths: [path("tree")] })
      .catch((thrown: unknown) => thrown);
    expect(live).toMatchObject({ kind: "daemon" });
    expect((live as NixDaemonError).daemonMessage).toMatch(/still alive/);
    expect(await client.isValidPath(path("tree"))).toBe(true);
  });

  it("keeps a path with a temporary root while the session lasts", async () => {
    const symlink = path("topSymlink");
    await client.session(async (session) => {
      await session.addTempRoot(symlink);
      const refused = await session
        .collectGarbage({ action: "delete-specific", paths: [symlink] })
        .catch((thrown: unknown) => thrown);
      expect(refused).toMatchObject({ kind: "daemon" });
    });
    // The session's connection is closed with it, and its root with it.
    await waitForValue("the temporary root to go", () =>
      client
        .collectGarbage({ action: "delete-specific", paths: [symlink] })
        .then(() => true)
        .catch(() => undefined),
    );
    expect(await client.isValidPath(symlink)).toBe(false);
  });

  it("imports over one connection while imports keep coming, and closes it once idle", async () => {
    // Each daemon worker that holds temporary roots has a file of them, removed as it exits.
    const temproots = join(daemon.store.root, "nix/var/nix/temproots");
    const workersWithRoots = (): number =>
      existsSync(temproots) ? readdirSync(temproots).length : 0;
    await waitFor(() => workersWithRoots() === 0, "earlier workers to exit");
    // Imported again (repair), so that each adds a temporary root.
    await add("tree", { repair: true });
    const worker = readdirSync(temproots);
    expect(worker).toHaveLength(1);
    await add("topFile", { repair: true });
    expect(readdirSync(temproots)).toEqual(worker);
    await waitFor(() => workersWithRoots() === 0, "the idle connection to close", 10_000);
    expect(await client.isValidPath(path("topFile"))).toBe(true);
  });

  it("never reuses a connection once its first temporary root is ROOTED_LIFETIME_MS old", async () => {
    const temproots = join(daemon.store.root, "nix/var/nix/temproots");
    const workersWithRoots = (): string[] => (existsSync(temproots) ? readdirSync(temproots) : []);
    await waitFor(() => workersWithRoots().length === 0, "earlier workers to exit");
    // Idle connections would stay a minute: only the lifetime can end them here.
    const short = new NixDaemonClient({
      socketPath: daemon.socketPath,
      rootedLifetimeMs: 300,
      rootedIdleMs: 60_000,
    });
    try {
      const addWith = async (attribute: string): Promise<void> => {
        const info = pathInfoIn(source, path(attribute));
        const nar = dumpNar(source, info.storePath);
        await short.addToStoreNar(importOf(info, { repair: true }), nar);
      };
      await addWith("tree");
      const first = workersWithRoots();
      expect(first).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await addWith("topFile");
      // A new worker took the import, and the old one ended with its roots.
      await waitFor(() => {
        const now = workersWithRoots();
        return now.length === 1 && now[0] !== first[0];
      }, "the import on a new connection, the old one closed");
    } finally {
      short.close();
    }
    await waitFor(() => workersWithRoots().length === 0, "the last connection to close");
  });

  it("keeps a path behind an indirect root", async () => {
    const link = join(tempDir("storefront-daemon-root-"), "result");
    symlinkSync(path("app"), link);
    await client.addIndirectRoot(link);
    // The daemon records it as a link to our link in gcroots/auto, which the collector follows.
    const auto = join(daemon.store.root, "nix/var/nix/gcroots/auto");
    expect(readdirSync(auto).map((name) => readlinkSync(join(auto, name)))).toContain(link);
    const refused = await client
      .collectGarbage({ action: "delete-specific", paths: [path("app")] })
      .catch((thrown: unknown) => thrown);
    expect(refused).toMatchObject({ kind: "daemon" });
    expect((refused as NixDaemonError).daemonMessage).toMatch(/still alive/);
    expect(await client.isValidPath(path("app"))).toBe(true);
  });

  it("refuses permanent roots on a daemon older than 1.37, without losing the connection", async () => {
    await expect(client.addPermRoot(path("app"), "/tmp/x")).rejects.toMatchObject({
      kind: "unsupported",
    });
    expect(await client.isValidPath(path("app"))).toBe(true);
  });

  it("keeps serving after the daemon refused a bad request, on many connections at once", async () => {
    const checks = Array.from({ length: 12 }, (_, i) =>
      client.isValidPath(path(i % 2 === 0 ? "app" : "topExe")),
    );
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 0));
  });
});

describe.skipIf(!hasNix)("realisations of CA derivations through nix-daemon 2.8", () => {
  const CA_FIXTURE = new URL("../fixtures/ca.nix", import.meta.url).pathname;
  const CA_FEATURE = ["--extra-experimental-features", "ca-derivations"];
  let source: TestStore;
  let daemon: TestDaemon;
  let client: NixDaemonClient;
  let realisations: Realisation[];

  beforeAll(async () => {
    source = makeTestStore("storefront-daemon-ca-");
    nixBuild(source, CA_FIXTURE, ["base", "top"], [...CA_FEATURE, "--option", "substituters", ""]);
    const database = new DatabaseSync(source.dbPath, { readOnly: true });
    const rows = database
      .prepare("SELECT drvPath, outputName FROM Realisations ORDER BY id")
      .all() as { drvPath: string; outputName: string }[];
    database.close();
    const reader = new StoreDatabase(source.dbPath, "/nix/store");
    realisations = rows.map((row) => {
      const realisation = reader.realisation({ drvHash: row.drvPath, outputName: row.outputName });
      if (realisation === undefined) throw new Error(`no realisation ${row.drvPath}`);
      return realisation;
    });
    reader.close();
    daemon = await startNixDaemon(["--option", "experimental-features", "ca-derivations"]);
    client = new NixDaemonClient({ socketPath: daemon.socketPath });
  });

  afterAll(async () => {
    client.close();
    await daemon.stop();
    source.remove();
  });

  it("registers realisations keyed by derivation hash, and reads them back", async () => {
    expect(realisations.length).toBeGreaterThanOrEqual(2);
    expect(await client.realisationForm()).toBe("drv-hash");
    for (const realisation of realisations) {
      const outPath = `/nix/store/${realisation.outPath}`;
      const info = pathInfoIn(source, outPath);
      expect(info.ca).toMatch(/^fixed:r:sha256:/);
      // Content-addressed: no signature needed, none skipped.
      await client.addToStoreNar(
        importOf(info, { dontCheckSigs: false }),
        dumpNar(source, outPath),
      );
      expect(await client.queryRealisation(realisation.id)).toBeUndefined();
      await client.registerDrvOutput(realisation);
      expect(await client.queryRealisation(realisation.id)).toEqual(realisation);
    }
  });
});
