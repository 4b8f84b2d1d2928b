// The compression module on its own, behind a plain node:http server: what a route with a
// large body in memory (a .ls listing) or a stream gets from it.

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseEncoding, sendEncoded, varyOnEncoding } from "../../src/http/compression.ts";
import { get } from "../support/http.ts";

const settings = { enable_compression: true, zstd: { level: 3 } } as const;
const body = Buffer.from(JSON.stringify({ version: 1, root: { entries: "x".repeat(5000) } }));

describe("sendEncoded", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
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
});
