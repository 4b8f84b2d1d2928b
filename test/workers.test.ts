// `workers = N`: N processes sharing one socket, a primary that restarts a dead worker, and start
// errors that end the whole process with one line and exit 1 rather than a crash loop.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { curl } from "./support/curl.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import {
  childPids,
  listeningPort,
  spawnServe,
  stopWith,
  waitUntil,
  type ServeProcess,
} from "./support/serve-process.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const FIXTURE = new URL("fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("workers", () => {
  let store: TestStore;
  let dir: string;
  const running: ServeProcess[] = [];

  beforeAll(() => {
    store = makeTestStore();
    nixBuild(store, FIXTURE, ["topFile"]);
    dir = mkdtempSync(join(tmpdir(), "storefront-workers-"));
  });
  afterEach(() => {
    for (const server of running.splice(0)) server.kill();
  });
  afterAll(() => {
    store.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const serve = (toml: string): ServeProcess => {
    const server = spawnServe(dir, toml);
    running.push(server);
    return server;
  };
  const config = (workers: number, bind = "127.0.0.1:0"): string =>
    `bind = "${bind}"\nworkers = ${workers}\nreal_nix_store = "${store.realStoreDir}"\n`;

  const answers = async (port: number): Promise<boolean> =>
    (await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body.includes("StoreDir:");

  it("runs N worker processes on one port, announced once", async () => {
    const server = serve(config(3));
    const port = await listeningPort(server);
    const workers = await childPids(server.child.pid ?? 0);
    expect(workers).toHaveLength(3);
    for (let i = 0; i < 6; i++) expect(await answers(port)).toBe(true);
    expect(server.stderr().match(/listening on/g)).toHaveLength(1);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
    // The workers are gone with the primary, not left behind.
    await waitUntil(() => workers.every((pid) => !isRunning(pid)), "the workers exited");
  });

  it("runs no worker processes with workers = 1", async () => {
    const server = serve(config(1));
    const port = await listeningPort(server);
    expect(await answers(port)).toBe(true);
    expect(await childPids(server.child.pid ?? 0)).toEqual([]);
    expect(await stopWith(server, "SIGINT")).toBe(0);
  });

  it("replaces a worker that dies, and keeps serving", async () => {
    const server = serve(config(2));
    const port = await listeningPort(server);
    const primary = server.child.pid ?? 0;
    const before = await childPids(primary);
    expect(before).toHaveLength(2);
    process.kill(before[0] ?? 0, "SIGKILL");
    await server.waitForLog(/worker died; starting another .*signal=SIGKILL/);
    await waitUntil(async () => {
      const now = await childPids(primary);
      return now.length === 2 && !now.includes(before[0] ?? 0);
    }, "a new worker replaced the dead one");
    for (let i = 0; i < 4; i++) expect(await answers(port)).toBe(true);
    expect(await stopWith(server, "SIGINT")).toBe(0);
  });

  it("stops with one line and exit 1 when the database is missing", async () => {
    const server = serve(`${config(2)}nix_db_path = "${join(dir, "no-such.sqlite")}"\n`);
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^storefront: .*no-such\.sqlite/);
  });

  it("stops with one line and exit 1 when the port is taken", async () => {
    const first = serve(config(1));
    const port = await listeningPort(first);
    const second = serve(config(2, `127.0.0.1:${port}`));
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toBe(
      `storefront: cannot listen on 127.0.0.1:${port}: the address is in use (is another server running?)\n`,
    );
    expect(await stopWith(first, "SIGTERM")).toBe(0);
  });
});
