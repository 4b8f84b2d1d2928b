// systemd socket activation, with the test in systemd's place: it opens the listening socket and
// passes it to the real CLI as descriptor 3, with LISTEN_FDS=1 and LISTEN_PID = the server's PID.

import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { curl } from "./support/curl.ts";
import { descriptorOf, listeningSocket } from "./support/fake-systemd.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore } from "./support/nix.ts";
import {
  childPids,
  listeningPort,
  spawnServe,
  stopWith,
  type ServeProcess,
} from "./support/serve-process.ts";

const FIXTURE = new URL("fixtures/store.nix", import.meta.url).pathname;

describe.skipIf(!hasNix)("socket activation", () => {
  let store: TestStore;
  let dir: string;
  const running: ServeProcess[] = [];

  beforeAll(() => {
    store = makeTestStore();
    nixBuild(store, FIXTURE, ["topFile"]);
    dir = mkdtempSync(join(tmpdir(), "storefront-activation-"));
  });
  afterEach(() => {
    for (const server of running.splice(0)) server.kill();
  });
  afterAll(() => {
    store.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  // `bind` names a socket that must stay unused: the passed socket wins.
  const unusedBind = (): string => join(dir, "bind-not-used.sock");
  const config = (workers: number): string =>
    `bind = "unix:${unusedBind()}"\nworkers = ${workers}\nreal_nix_store = "${store.realStoreDir}"\n`;

  it.each([1, 2])("serves on a passed TCP socket, not on bind (workers = %i)", async (workers) => {
    const socket = await listeningSocket(0, "127.0.0.1");
    const port = (socket.address() as AddressInfo).port;
    const server = spawnServe(dir, config(workers), {
      env: { LISTEN_FDS: "1" },
      listenPidIsChild: true,
      extraFds: [descriptorOf(socket)],
    });
    running.push(server);
    // Our copy is no longer needed; the child holds its own.
    socket.close();

    expect(await listeningPort(server)).toBe(port);
    for (let i = 0; i < 4; i++) {
      expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body).toContain(
        "StoreDir: /nix/store",
      );
    }
    expect(existsSync(unusedBind())).toBe(false);
    if (workers > 1) {
      // Workers must not see the variables: they were meant for the primary.
      const pids = await childPids(server.child.pid ?? 0);
      expect(pids).toHaveLength(workers);
      for (const pid of pids) {
        expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toMatch(/(^|\0)LISTEN_(FDS|PID)=/);
      }
    }
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it.each([1, 2])("serves on a passed unix socket (workers = %i)", async (workers) => {
    const path = join(dir, `activated-${workers}.sock`);
    // Node removes a unix socket's path when the server that bound it closes, as ours does below;
    // a second name (a hard link) for the same socket outlives that.
    const socket = await listeningSocket(`${path}.tmp`);
    linkSync(`${path}.tmp`, path);
    const server = spawnServe(dir, config(workers), {
      env: { LISTEN_FDS: "1" },
      listenPidIsChild: true,
      extraFds: [descriptorOf(socket)],
    });
    running.push(server);
    socket.close();
    await server.waitForLog(/listening on fd:3/);
    const answer = await curl(["--unix-socket", path, "http://localhost/nix-cache-info"]);
    expect(answer.body).toContain("StoreDir: /nix/store");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("ignores LISTEN_FDS meant for another process (LISTEN_PID is not ours)", async () => {
    const server = spawnServe(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 1\nreal_nix_store = "${store.realStoreDir}"\n`,
      { env: { LISTEN_FDS: "1", LISTEN_PID: "1" } },
    );
    running.push(server);
    const port = await listeningPort(server);
    expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body).toContain("StoreDir:");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("stops with a clear message when LISTEN_FDS names no open socket", async () => {
    const server = spawnServe(dir, config(1), {
      env: { LISTEN_FDS: "2" },
      listenPidIsChild: true,
    });
    running.push(server);
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(
      "storefront: socket activation: file descriptor 3 is not an open socket\n",
    );
  });
});
