// `threads = N`: N threads of one process serve one TCP address (SO_REUSEPORT), /metrics counts
// every thread's requests, a unix socket stays with the main thread, and a thread that dies is
// replaced. SIGHUP and SIGTERM with threads: reload.test.ts and shutdown.test.ts.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { claimPort } from "../../src/daemon/claim-port.ts";
import { createLogger } from "../../src/log.ts";
import { ServingThreads } from "../../src/process/threads.ts";
import { curl } from "../support/curl.ts";
import { builtStore, hasNix, STORE_NIX } from "../support/nix.ts";
import { childPids, listeningPort, serveProcesses, stopWith } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

/** `storefront_thread_connections_total` by thread, from a /metrics text. */
function connectionsByThread(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of metrics.matchAll(
    /^storefront_thread_connections_total\{thread="(\d+)"\} (\d+)$/gm,
  )) {
    counts.set(match[1] ?? "", Number(match[2]));
  }
  return counts;
}

describe.skipIf(!hasNix)("threads", () => {
  const built = builtStore(STORE_NIX, ["topFile"]);
  const processes = serveProcesses("storefront-threads-");

  it("serves from every thread of one process, announced once, counted in /metrics", async () => {
    const server = processes.spawn(
      `bind = "127.0.0.1:0"\nthreads = 3\nworkers = 1\n${built.store.configLine}`,
    );
    const port = await listeningPort(server);
    expect(await childPids(server.child.pid ?? 0)).toEqual([]);
    // Each request on a connection of its own, several at once: the kernel spreads them.
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => curl([`http://127.0.0.1:${port}/nix-cache-info`])),
    );
    for (const answer of answers) expect(answer.body).toContain("StoreDir: /nix/store");
    const metrics = (await curl([`http://127.0.0.1:${port}/metrics`])).body;
    const counts = connectionsByThread(metrics);
    expect(counts.size).toBe(3);
    const busy = [...counts.values()].filter((count) => count > 0);
    expect(busy.length).toBe(3);
    expect([...counts.values()].reduce((sum, count) => sum + count, 0)).toBe(31);
    // Requests of every thread, summed in one scrape.
    const requests =
      /^storefront_http_requests_total\{route="\/nix-cache-info",method="GET",status="200"\} (\d+)$/m.exec(
        metrics,
      );
    expect(Number(requests?.[1])).toBe(30);
    // The process's own figures once, not summed once per thread.
    const reported = Number(
      /^storefront_process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN,
    );
    const status = readFileSync(`/proc/${String(server.child.pid)}/status`, "utf8");
    const resident = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024;
    expect(reported / resident).toBeGreaterThan(0.5);
    expect(reported / resident).toBeLessThan(1.5);
    expect(server.stderr().match(/listening on/g)).toHaveLength(1);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("serves a unix socket from the main thread alone, and says so", async () => {
    const socket = join(processes.dir, "threads.sock");
    const server = processes.spawn(
      `bind = "unix:${socket}"\nthreads = 2\n${built.store.configLine}`,
    );
    await server.waitForLog(/listening on unix:/);
    expect(server.stderr()).toMatch(
      /info a unix socket or a socket from systemd is served by the main thread alone threads=2/,
    );
    const answer = await curl(["--unix-socket", socket, "http://localhost/nix-cache-info"]);
    expect(answer.body).toContain("StoreDir: /nix/store");
    const metrics = (await curl(["--unix-socket", socket, "http://localhost/metrics"])).body;
    expect([...connectionsByThread(metrics).keys()]).toEqual(["0"]);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("refuses workers and threads both above one, naming both keys", async () => {
    const server = processes.spawn(
      `bind = "127.0.0.1:0"\nworkers = 2\nthreads = 2\n${built.store.configLine}`,
    );
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(
      /^storefront: .*"workers" = 2 and "threads" = 2: choose one; /m,
    );
  });
});

describe("serving threads", () => {
  it("replaces a thread that dies, on the same address, and stops the others", async () => {
    const dir = tempDir("storefront-thread-crash-");
    const marker = join(dir, "crashed");
    process.env["CRASH_MARKER"] = marker;
    const lines: string[] = [];
    const target = await claimPort({ kind: "tcp", host: "127.0.0.1", port: 0 });
    const threads = new ServingThreads({
      entry: new URL("../fixtures/threads/crash-once.ts", import.meta.url),
      count: 2,
      config: loadConfig(undefined, {}),
      targets: [target],
      log: createLogger((line) => lines.push(line)),
      metricsText: () => Promise.resolve(""),
    });
    await threads.start();
    const url = `http://127.0.0.1:${target.kind === "tcp" ? target.port : 0}/`;
    await waitFor(() => existsSync(marker), "a thread crashed");
    const crashed = readFileSync(marker, "utf8");
    await waitFor(
      () => lines.some((line) => /^warn a serving thread died; starting another /.test(line)),
      "the death was logged",
    );
    expect(lines.join("")).toContain("a bug in a serving thread");
    // Two threads answer again on the same port, the dead one not among them.
    await waitFor(async () => {
      const ids = await Promise.all(
        Array.from({ length: 8 }, async () => (await curl([url])).body),
      );
      return new Set(ids).size === 2 && !ids.includes(crashed) && !ids.includes("");
    }, "the replacement serves");
    await threads.stop();
    expect((await curl([url])).code).toBe(7);
  });
});
