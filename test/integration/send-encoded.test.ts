// The compression module on its own, behind a plain node:http server: what a route with a
// large body in memory (a .ls listing) or a stream gets from it.

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseEncoding, sendEncoded, varyOnEncoding } from "../../src/http/compression.ts";
import { get } from "../support/http.ts";

const settings = { enable_compression: true, zstd: { level: 3 } } as const;
const body = Buffer.from(JSON.stringify({ version: 1, root: { entries: "x".repeat(5000) } }));
/** 16 MiB that do not compress: more than a socket's send buffer holds. */
const noise = randomBytes(1024 * 1024);
function* large(): Generator<Buffer> {
  for (let i = 0; i < 16; i += 1) yield noise;
}

describe("sendEncoded", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/large") {
        void sendEncoded(res, large(), "zstd", settings).catch(() => undefined);
        return;
      }
      const bytes = req.url === "/small" ? body.subarray(0, 100) : body;
      varyOnEncoding(res, settings);
      const encoding = chooseEncoding(req, settings, bytes.length);
      if (encoding === undefined) {
        res.writeHead(200, { "content-length": bytes.length });
        res.end(req.method === "HEAD" ? undefined : bytes);
      } else {
        void sendEncoded(res, [bytes], encoding, settings);
      }
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
  });

  it("compresses a body in memory with the coding the client prefers", async () => {
    const zstd = await get(base, "/", { headers: { "accept-encoding": "gzip, zstd" } });
    expect(zstd.headers["content-encoding"]).toBe("zstd");
    expect(zstd.headers["vary"]).toBe("Accept-Encoding");
    expect(zstdDecompressSync(zstd.body).equals(body)).toBe(true);
    const gzip = await get(base, "/", { headers: { "accept-encoding": "gzip" } });
    expect(gunzipSync(gzip.body).equals(body)).toBe(true);
  });

  it("leaves small bodies and HEAD alone", async () => {
    const small = await get(base, "/small", { headers: { "accept-encoding": "zstd" } });
    expect(small.headers["content-encoding"]).toBeUndefined();
    expect(small.body.length).toBe(100);
    const head = await get(base, "/", { method: "HEAD", headers: { "accept-encoding": "zstd" } });
    expect(head.headers["content-encoding"]).toBeUndefined();
    expect(head.headers["content-length"]).toBe(String(body.length));
  });

  it("starts every stream, though those before it fill their sockets and are never read", async () => {
    const { port } = server.address() as AddressInfo;
    const answered = (): Promise<{ status: string; close: () => void }> =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port });
        socket.on("error", reject);
        socket.write("GET /large HTTP/1.1\r\nHost: x\r\nAccept-Encoding: zstd\r\n\r\n");
        // Reads the status line and then nothing more, as a client that stopped reading.
        socket.once("data", (chunk: Buffer) => {
          socket.pause();
          resolve({
            status: chunk.toString("latin1").split("\r\n")[0] ?? "",
            close: () => socket.destroy(),
          });
        });
      });
    const readers = await Promise.all(Array.from({ length: 8 }, answered));
    expect(readers.map(({ status }) => status)).toEqual(Array(8).fill("HTTP/1.1 200 OK"));
    for (const reader of readers) reader.close();
    // And one that reads gets the whole body.
    const whole = await get(base, "/large", { headers: { "accept-encoding": "zstd" } });
    expect(zstdDecompressSync(whole.body).length).toBe(16 * 1024 * 1024);
  });
});
