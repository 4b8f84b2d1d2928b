// src/bin.js: `serve` starts over once with the memory settings that Node and glibc read only at
// start (same pid) and with its sources compiled, keeps an operator's own settings, and does
// not start over where that would close descriptors it needs (sockets from systemd, a cluster
// worker's channel).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { childPids, listeningPort, serveProcesses, stopWith } from "../support/server.ts";

/** The command line and environment of a running process, as /proc has them. */
function processOf(pid: number): { args: string[]; env: Map<string, string> } {
  const read = (file: string): string[] =>
    readFileSync(`/proc/${pid}/${file}`, "utf8").split("\0").slice(0, -1);
  const env = new Map(
    read("environ").map((line) => [
      line.slice(0, line.indexOf("=")),
      line.slice(line.indexOf("=") + 1),
    ]),
  );
  return { args: read("cmdline"), env };
}

describe.skipIf(!hasNix)("the serving process's memory settings", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-settings-");
  const config = (workers: number): string =>
    `bind = "127.0.0.1:0"\nworkers = ${workers}\n${built.store.configLine}`;

  it("serves with a small young generation, one malloc arena and a fixed mmap threshold, in the same process", async () => {
    const server = processes.spawn(config(1));
    await listeningPort(server);
    const { args, env } = processOf(server.child.pid ?? 0);
    expect(args).toContain("--max-semi-space-size=4");
    expect(args.slice(-3, -1)).toEqual(["serve", "--config"]);
    expect(env.get("MALLOC_ARENA_MAX")).toBe("1");
    expect(env.get("MALLOC_MMAP_THRESHOLD_")).toBe("65536");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("keeps the operator's own settings", async () => {
    const server = processes.spawn(config(1), {
      env: {
        MALLOC_ARENA_MAX: "4",
        MALLOC_MMAP_THRESHOLD_: "131072",
        NODE_OPTIONS: "--max-semi-space-size=8",
      },
    });
    await listeningPort(server);
    const { args, env } = processOf(server.child.pid ?? 0);
    expect(args).not.toContain("--max-semi-space-size=4");
    expect(env.get("MALLOC_ARENA_MAX")).toBe("4");
    expect(env.get("MALLOC_MMAP_THRESHOLD_")).toBe("131072");
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("starts over after compiling its sources, so that the server never strips types", async () => {
    // The operator's settings leave nothing else to start over for.
    const env = {
      MALLOC_ARENA_MAX: "1",
      MALLOC_MMAP_THRESHOLD_: "65536",
      NODE_OPTIONS: "--max-semi-space-size=4",
      CACHE_DIRECTORY: tempDir("storefront-compile-"),
    };
    const startedOver = async (): Promise<boolean> => {
      const server = processes.spawn(config(1), { env });
      await listeningPort(server);
      const { env: seen } = processOf(server.child.pid ?? 0);
      expect(await stopWith(server, "SIGTERM")).toBe(0);
      return seen.has("STOREFRONT_EXECED");
    };
    expect(await startedOver()).toBe(true); // an empty compile cache: everything compiled
    expect(await startedOver()).toBe(false); // all of it cached now
  });

  it("gives the cluster's workers the same settings", async () => {
    const server = processes.spawn(config(2));
    await listeningPort(server);
    const workers = await childPids(server.child.pid ?? 0);
    expect(workers).toHaveLength(2);
    for (const pid of workers) {
      const { args, env } = processOf(pid);
      expect(args).toContain("--max-semi-space-size=4");
      expect(env.get("MALLOC_ARENA_MAX")).toBe("1");
      expect(env.get("MALLOC_MMAP_THRESHOLD_")).toBe("65536");
    }
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });
});
