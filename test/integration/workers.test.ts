// `workers = N`: N processes sharing one socket, a primary that restarts a dead worker, and start
// errors that end the whole process with one line and exit 1 rather than a crash loop.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import {
  childPids,
  listeningPort,
  stopWith,
  type ServerProcess,
  serveProcesses,
} from "../support/server.ts";
import { waitFor } from "../support/wait.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasNix)("workers", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-workers-");

  const serve = (toml: string): ServerProcess => processes.spawn(toml);
  const config = (workers: number, bind = "127.0.0.1:0"): string =>
    `bind = "${bind}"\nworkers = ${workers}\n${built.store.configLine}`;

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
    await waitFor(() => workers.every((pid) => !isRunning(pid)), "the workers exited");
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
    await waitFor(async () => {
      const now = await childPids(primary);
      return now.length === 2 && !now.includes(before[0] ?? 0);
    }, "a new worker replaced the dead one");
    for (let i = 0; i < 4; i++) expect(await answers(port)).toBe(true);
    expect(await stopWith(server, "SIGINT")).toBe(0);
  });

  it("stops with one line and exit 1 when the database is missing", async () => {
    const server = serve(`${config(2)}nix_db_path = "${join(processes.dir, "no-such.sqlite")}"\n`);
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
      `storefront: cannot listen on 127.0.0.1:${port} ("bind"): the address is in use (is another server, harmonia or nix-serve, running?); stop it, or choose another address with --bind or "bind" in the config\n`,
    );
    expect(await stopWith(first, "SIGTERM")).toBe(0);
  });
});
