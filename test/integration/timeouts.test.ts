// Timeouts that defeat slow clients (request_header_timeout, idle_timeout) without cutting a
// download that is slow but keeps moving.

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSlowDownloadPath, type SlowDownloadPath } from "../support/slow-download-path.ts";
import { hasNix } from "../support/nix.ts";
import { listeningPort, stopWith, type ServerProcess, serveProcesses } from "../support/server.ts";
import { slowDownload } from "../support/slow-client.ts";

/** Sends `text` on a new connection; resolves with all the server sent once it closes. */
async function sendAndWaitForClose(port: number, text: string): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (data: Buffer) => (received += data.toString()));
  socket.write(text);
  await new Promise<void>((resolve) =>
    socket.once("close", () => {
      resolve();
    }),
  );
  return received;
}

describe.skipIf(!hasNix)("timeouts", () => {
  let nar: SlowDownloadPath;
  const processes = serveProcesses("storefront-timeouts-");

  beforeAll(() => {
    nar = buildSlowDownloadPath();
  });
  afterAll(() => {
    nar.store.remove();
  });

  const serve = async (settings: string): Promise<{ server: ServerProcess; port: number }> => {
    const server = processes.spawn(
      `bind = "127.0.0.1:0"\nworkers = 1\n${nar.store.configLine}${settings}`,
    );
    return { server, port: await listeningPort(server) };
  };

  it("disconnects a client that sends half a request line and stalls", async () => {
    // The idle timeout is long: only the header timeout can end this connection in the test.
    const { server, port } = await serve("request_header_timeout = 1\nidle_timeout = 3600\n");
    const received = await sendAndWaitForClose(port, "GET /nix-cache-in");
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("closes a keep-alive connection left idle for idle_timeout", async () => {
    const { server, port } = await serve("request_header_timeout = 3600\nidle_timeout = 1\n");
    const received = await sendAndWaitForClose(
      port,
      "GET /nix-cache-info HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    expect(received).toMatch(/^HTTP\/1\.1 200 [^]*StoreDir: \/nix\/store/);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });

  it("lets a slow but steady download run far longer than both timeouts", async () => {
    const { server, port } = await serve("idle_timeout = 2\nrequest_header_timeout = 1\n");
    // 3 MB/s: about 8 s for the 24 MB NAR, four times the idle timeout.
    const download = slowDownload(`http://127.0.0.1:${port}${nar.narUrlPath}`, 3 * 1024 * 1024);
    const result = await download.done;
    expect(result).toMatchObject({ status: 200, complete: true, bytes: nar.narSize });
    expect(result.sha256).toBe(nar.narSha256);
    expect(await stopWith(server, "SIGTERM")).toBe(0);
  });
});
