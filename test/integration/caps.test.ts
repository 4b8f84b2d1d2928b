// The caps that keep many clients from taking a process's memory: streams in flight
// (`max_streams`: one more waits a moment, then gets 503 with Retry-After) and connections
// (`max_connections`, harmonia's key: a request on one more gets 503 and its connection closed).

import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, narUrlOf } from "../support/http.ts";
import { parseMetrics, sumOf } from "../support/metrics.ts";
import { FIXTURES, hasNix, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/temp.ts";

/** A connection that sends nothing: it only holds its place. */
function idleConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A GET whose client reads the response's headers, then stops reading: it holds its stream. */
function heldDownload(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.once("data", () => {
      socket.pause();
      resolve(socket);
    });
  });
}

async function metric(server: RunningServer, name: string): Promise<number> {
  return sumOf(parseMetrics((await get(server.url, "/metrics")).body.toString()), name);
}

describe.skipIf(!hasNix)("caps on streams and connections", () => {
  let store: TestStore;
  let server: RunningServer;
  let nar = "";

  beforeAll(async () => {
    store = makeTestStore();
    const big = nixBuild(store, join(FIXTURES, "big.nix"), ["big"]).get("big") ?? "";
    const dir = tempDir("storefront-caps-");
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nworkers = 1\nmax_streams = 2\nmax_connections = 8\n${store.configLine}`,
    );
    nar = await narUrlOf(server, big);
  });
  afterAll(async () => {
    await server.stop();
    store.remove();
  });

  it("queues a stream over max_streams, then refuses it with 503 and Retry-After", async () => {
    const path = new URL(nar).pathname + new URL(nar).search;
    // Two downloads that hold their slots: their clients read the headers, then nothing more.
    const held = await Promise.all([
      heldDownload(server.port, path),
      heldDownload(server.port, path),
    ]);
    try {
      // A third waits for a slot, and gets none in time.
      const refused = await get(server.url, path);
      expect(refused.status).toBe(503);
      expect(refused.headers["retry-after"]).toBe("5");
      expect(refused.headers["cache-control"]).toBe("no-store");
      // Other requests are no streams: answered at once, and so is a HEAD (no body).
      expect((await get(server.url, "/nix-cache-info")).status).toBe(200);
      expect((await get(server.url, path, { method: "HEAD" })).status).toBe(200);
      expect(await metric(server, "storefront_streams_refused_total")).toBe(1);
      expect(await metric(server, "storefront_streams_in_flight")).toBe(2);

      // One that waits while a client goes takes its slot.
      const waiting = get(server.url, path);
      await new Promise((resolve) => setTimeout(resolve, 500));
      held[0].destroy();
      const served = await waiting;
      expect(served.status).toBe(200);
      expect(served.complete).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it("answers a request over max_connections with 503, Retry-After and a closed connection", async () => {
    // Eight connections held open without a request: the cap.
    const holders = await Promise.all(Array.from({ length: 8 }, () => idleConnection(server.port)));
    try {
      const over = await get(server.url, "/nix-cache-info");
      expect(over.status).toBe(503);
      expect(over.headers["retry-after"]).toBe("5");
      expect(over.headers["connection"]).toBe("close");
      expect(await metricAfterFreeing(holders)).toBeGreaterThanOrEqual(1);
    } finally {
      for (const socket of holders) socket.destroy();
    }
    // Below the cap again: served.
    expect((await get(server.url, "/nix-cache-info")).status).toBe(200);
  });

  /** Frees the held connections, then reads the refused count (one more connection for that). */
  async function metricAfterFreeing(holders: Socket[]): Promise<number> {
    for (const socket of holders) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    return metric(server, "storefront_connections_refused_total");
  }
});
