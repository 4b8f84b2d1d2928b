// Graceful shutdown on SIGTERM/SIGINT: no new connections, running downloads finish (within
// shutdown_timeout, then they are cut), idle keep-alive connections close at once, exit 0.

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl } from "../support/curl.ts";
import { buildSlowDownloadPath, type SlowDownloadPath } from "../support/slow-download-path.ts";
import { hasNix } from "../support/nix.ts";
import { listeningPort, type ServerProcess, serveProcesses } from "../support/server.ts";
import { waitFor } from "../support/wait.ts";
import { slowDownload } from "../support/slow-client.ts";

/** 3 MB/s: the 24 MB NAR takes about 8 s, most of it after the signal. */
const SLOW = 3 * 1024 * 1024;

describe.skipIf(!hasNix)("graceful shutdown", () => {
  let nar: SlowDownloadPath;
  const processes = serveProcesses("storefront-shutdown-");

  beforeAll(() => {
    nar = buildSlowDownloadPath();
  });
  afterAll(() => {
    nar.store.remove();
  });

  const serve = async (
    settings: string,
  ): Promise<{ server: ServerProcess; port: number; url: string }> => {
    const server = processes.spawn(`bind = "127.0.0.1:0"\n${nar.store.configLine}${settings}`);
    const port = await listeningPort(server);
    return { server, port, url: `http://127.0.0.1:${port}` };
  };

  it.each([
    ["SIGTERM", 1, 1],
    ["SIGINT", 1, 1],
    ["SIGTERM", 2, 1],
    ["SIGTERM", 1, 2],
    ["SIGINT", 1, 2],
  ] as const)(
    "on %s lets slow downloads finish, refuses new connections, exits 0 (workers = %i, threads = %i)",
    async (signal, workers, threads) => {
      const { server, port, url } = await serve(`workers = ${workers}\nthreads = ${threads}\n`);
      // Each on a connection of its own: with several workers or threads, most of them serve one.
      const downloads = Array.from({ length: 4 }, () => slowDownload(url + nar.narUrlPath, SLOW));
      for (const download of downloads) await download.received(1024 * 1024);

      server.child.kill(signal);
      await waitFor(
        async () => (await curl([`http://127.0.0.1:${port}/nix-cache-info`])).code === 7,
        "new connections are refused",
      );
      for (const download of downloads) {
        const result = await download.done;
        expect(result).toMatchObject({ status: 200, complete: true, bytes: nar.narSize });
        expect(result.sha256).toBe(nar.narSha256);
      }
      expect(await server.exited).toBe(0);
    },
  );

  it.each([
    [1, 1],
    [2, 1],
    [1, 2],
  ])(
    "cuts a download still running after shutdown_timeout, and exits 0 (workers = %i, threads = %i)",
    async (workers, threads) => {
      const { server, url } = await serve(
        `workers = ${workers}\nthreads = ${threads}\nshutdown_timeout = 1\n`,
      );
      const download = slowDownload(url + nar.narUrlPath, SLOW);
      await download.received(1024 * 1024);
      download.stall();

      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      download.resume();
      const result = await download.done;
      expect(result.complete).toBe(false);
      expect(result.bytes).toBeLessThan(nar.narSize);
    },
  );

  it("closes idle keep-alive connections at once", async () => {
    // Long timeouts: were the idle connection kept, the server would not exit within the test.
    const { server, port } = await serve(
      "threads = 2\nshutdown_timeout = 3600\nidle_timeout = 3600\n",
    );
    const socket = connect(port, "127.0.0.1");
    socket.write("GET /nix-cache-info HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let response = "";
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        resolve();
      }),
    );
    socket.on("data", (data: Buffer) => (response += data.toString()));
    await waitFor(() => response.includes("Priority:"), "the response arrived");
    expect(response).toMatch(/^HTTP\/1\.1 200 .*\r\nConnection: keep-alive\r\n/is);

    server.child.kill("SIGTERM");
    await closed;
    expect(await server.exited).toBe(0);
  });
});
