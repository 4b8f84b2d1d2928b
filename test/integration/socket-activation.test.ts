// systemd socket activation, with the test in systemd's place: it opens the listening socket and
// passes it to the real CLI as descriptor 3, with LISTEN_FDS=1 and LISTEN_PID = the server's PID.

import { existsSync, linkSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { descriptorOf, holdSocket, listeningSocket } from "../support/fake-systemd.ts";
import { get } from "../support/http.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { waitFor } from "../support/wait.ts";
import {
  childPids,
  listeningPort,
  serveCommand,
  stopWith,
  serveProcesses,
} from "../support/server.ts";

describe.skipIf(!hasNix)("socket activation", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-activation-");

  // `bind` names a socket that must stay unused: the passed socket wins.
  const unusedBind = (): string => join(processes.dir, "bind-not-used.sock");
  const config = (workers: number): string =>
    `bind = "unix:${unusedBind()}"\nworkers = ${workers}\n${built.store.configLine}`;

  it.each([1, 2])("serves on a passed TCP socket, not on bind (workers = %i)", async (workers) => {
    const socket = await listeningSocket(0, "127.0.0.1");
    const port = (socket.address() as AddressInfo).port;
    const server = processes.spawn(config(workers), {
      env: { LISTEN_FDS: "1" },
      listenPidIsChild: true,
      extraFds: [descriptorOf(socket)],
    });
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
    const path = join(processes.dir, `activated-${workers}.sock`);
    // Node removes a unix socket's path when the server that bound it closes, as ours does below;
    // a second name (a hard link) for the same socket outlives that.
    const socket = await listeningSocket(`${path}.tmp`);
    linkSync(`${path}.tmp`, path);
    const server = processes.spawn(config(workers), {
      env: { LISTEN_FDS: "1" },
      listenPidIsChild: true,
      extraFds: [descriptorOf(socket)],
    });
    socket.close();
    await server.waitForLog(/listening on fd:3/);
    const answer = await curl(["--unix-socket", path, "http://localhost/nix-cache-info"]);
    expect(answer.body).toContain("StoreDir: /nix/store");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  // systemd keeps a .socket unit's socket while its service restarts: connections wait in the
  // kernel's backlog for the next process, so clients see a pause, never a refusal.
  it("a restart under load refuses no connection and answers every request", async () => {
    const held = await holdSocket();
    processes.afterTest(() => {
      held.close();
    });
    const argv = serveCommand(processes.dir, config(1), "restart.toml");
    const base = `http://127.0.0.1:${held.port}`;
    const listening = async (count: number): Promise<void> => {
      await waitFor(() => held.stderr().split("listening on ").length > count, "listening");
    };

    // Four clients, each a new connection per request, from before the restart to after it.
    const statuses: number[] = [];
    const failures: string[] = [];
    let loading = true;
    const client = async (): Promise<void> => {
      while (loading) {
        try {
          statuses.push((await get(base, "/nix-cache-info")).status);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    await held.start(argv);
    await listening(1);
    const clients = [client(), client(), client(), client()];
    await waitFor(() => statuses.length >= 20, "answers before the restart");

    expect(await held.stop()).toBe(0);
    // Sent while no process serves: they wait for the next one.
    const whileDown = [1, 2, 3, 4, 5].map(() => get(base, "/nix-cache-info"));
    const answeredBefore = statuses.length;
    await held.start(argv);
    await listening(2);
    expect((await Promise.all(whileDown)).map((response) => response.status)).toEqual([
      200, 200, 200, 200, 200,
    ]);
    await waitFor(() => statuses.length >= answeredBefore + 20, "answers after the restart");
    loading = false;
    await Promise.all(clients);
    expect(await held.stop()).toBe(0);

    expect(failures).toEqual([]);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it("ignores LISTEN_FDS meant for another process (LISTEN_PID is not ours)", async () => {
    const server = processes.spawn(`bind = "127.0.0.1:0"\nworkers = 1\n${built.store.configLine}`, {
      env: { LISTEN_FDS: "1", LISTEN_PID: "1" },
    });
    const port = await listeningPort(server);
    expect((await curl([`http://127.0.0.1:${port}/nix-cache-info`])).body).toContain("StoreDir:");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("stops with a clear message when LISTEN_FDS names no open socket", async () => {
    const server = processes.spawn(config(1), {
      env: { LISTEN_FDS: "2" },
      listenPidIsChild: true,
    });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toBe(
      "storefront: socket activation: file descriptor 3 is not an open socket\n",
    );
  });
});
