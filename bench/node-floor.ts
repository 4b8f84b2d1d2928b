// The floor: the least a Node server does to answer the benchmark's requests, so that the report
// can tell what Node itself costs against nginx from what storefront adds. It serves the same
// static caches as nginx (`nix copy --to file://...?compression=none`, or `zstd`): every narinfo
// held in memory as the bytes to send, and each NAR file (`.nar` or `.nar.zst`) read in 512 KiB
// chunks (storefront's chunk size) written to the socket with backpressure. Nothing is looked
// up, signed, built or compressed.
//
//   node bench/node-floor.ts CACHE_DIR PORT

import { closeSync, openSync, readFileSync, readSync, readdirSync, fstatSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";

const [cacheDir, port] = process.argv.slice(2);
if (cacheDir === undefined || port === undefined) {
  throw new Error("usage: node bench/node-floor.ts CACHE_DIR PORT");
}

const CHUNK_BYTES = 512 * 1024;
const files = new Map<string, Buffer>();
for (const name of readdirSync(cacheDir)) {
  if (name.endsWith(".narinfo") || name === "nix-cache-info") {
    files.set(`/${name}`, readFileSync(join(cacheDir, name)));
  }
}

function sendFile(res: ServerResponse, path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    res.writeHead(404).end();
    return;
  }
  const size = fstatSync(fd).size;
  res.writeHead(200, { "content-type": "application/x-nix-archive", "content-length": size });
  // Two buffers in turn: one being written while the other is filled. No larger than the
  // file: most NARs of a closure are small, and 1 MiB for each would be the floor's own waste.
  const bytes = Math.max(1, Math.min(CHUNK_BYTES, size));
  const buffers = [Buffer.allocUnsafe(bytes), Buffer.allocUnsafe(bytes)];
  let position = 0;
  let turn = 0;
  const pump = (): void => {
    while (position < size) {
      const buffer = buffers[turn++ % 2] as Buffer;
      const read = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
      position += read;
      if (!res.write(buffer.subarray(0, read))) {
        res.once("drain", pump);
        return;
      }
    }
    closeSync(fd);
    res.end();
  };
  res.once("close", () => {
    if (position < size) closeSync(fd);
  });
  pump();
}

createServer((req, res) => {
  const url = req.url ?? "";
  const body = files.get(url);
  if (body !== undefined) {
    res.writeHead(200, { "content-type": "text/x-nix-narinfo", "content-length": body.length });
    res.end(body);
  } else if (/^\/nar\/[0-9a-z]+\.nar(\.zst)?$/.test(url)) {
    sendFile(res, join(cacheDir, url));
  } else {
    res.writeHead(404).end();
  }
}).listen(Number(port), "127.0.0.1");
