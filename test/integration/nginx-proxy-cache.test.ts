// HTTP caching for fronting proxies: a real nginx with proxy_cache in front of storefront keeps
// NARs (by their Cache-Control and Vary) and serves repeat downloads without asking storefront.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { httpRequest, narUrl } from "../support/http.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore, hashOf } from "../support/nix.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const NGINX = "/usr/sbin/nginx";
const hasNginx = existsSync(NGINX);

if (!hasNginx && process.env["CI"] === "true") {
  throw new Error("CI=true but /usr/sbin/nginx is missing: apt-get install nginx-light");
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `
daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=nix:10m max_size=1g inactive=1d use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_cache nix;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}

describe.skipIf(!hasNix || !hasNginx)("nginx proxy_cache in front of storefront", () => {
  let store: TestStore;
  let dir: string;
  let server: RunningServer;
  let nginx: ChildProcess;
  let nginxUrl: string;
  let treeNar: Buffer;
  let treeHash: string;

  beforeAll(async () => {
    store = makeTestStore();
    dir = tempDir("storefront-nginx-");
    const tree = nixBuild(store, join(FIXTURES, "store.nix"), ["tree"]).get("tree") ?? "";
    treeHash = hashOf(tree);
    treeNar = execFileSync("nix-store", ["--dump", store.realPath(tree)]);
    server = await startServer(
      dir,
      `bind = "127.0.0.1:0"\nreal_nix_store = "${store.realStoreDir}"\n`,
    );

    const nginxDir = join(dir, "nginx");
    mkdirSync(nginxDir);
    const port = await freePort();
    writeFileSync(join(nginxDir, "nginx.conf"), nginxConfig(nginxDir, port, server.port));
    nginx = spawn(
      NGINX,
      ["-p", nginxDir, "-c", join(nginxDir, "nginx.conf"), "-e", join(nginxDir, "error.log")],
      {
        stdio: "ignore",
      },
    );
    nginxUrl = `http://127.0.0.1:${port}`;
    const running = (): boolean => nginx.exitCode === null && nginx.signalCode === null;
    await waitFor(() => !running() || existsSync(join(nginxDir, "nginx.pid")), "nginx to start");
    if (!running()) throw new Error("nginx did not start; see its error.log");
    for (let i = 0; i < 400 && !(await accepting(port)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });

  afterAll(async () => {
    if (nginx.exitCode === null) {
      nginx.kill("SIGTERM");
      await once(nginx, "exit");
    }
    await server.stop();
    store.remove();
  });

  it("serves the second download of a NAR from its cache, even with storefront gone", async () => {
    const url = (await narUrl(server.url, treeHash)).replace(server.url, nginxUrl);
    const zstd = { "accept-encoding": "zstd" };

    const first = await httpRequest(url);
    expect(first.headers["x-cache-status"]).toBe("MISS");
    expect(first.body.equals(treeNar)).toBe(true);
    const firstZstd = await httpRequest(url, { headers: zstd });
    expect(firstZstd.headers["x-cache-status"]).toBe("MISS"); // another variant (Vary)

    const second = await httpRequest(url);
    expect(second.headers["x-cache-status"]).toBe("HIT");
    expect(second.headers["etag"]).toBe(first.headers["etag"]);
    expect(second.body.equals(treeNar)).toBe(true);
    const secondZstd = await httpRequest(url, { headers: zstd });
    expect(secondZstd.headers["x-cache-status"]).toBe("HIT");
    // The variant nginx kept: storefront answered the first zstd request plain.
    expect(secondZstd.headers["content-encoding"]).toBe(firstZstd.headers["content-encoding"]);
    expect(secondZstd.headers["etag"]).toBe(firstZstd.headers["etag"]);
    const decoded =
      secondZstd.headers["content-encoding"] === "zstd"
        ? zstdDecompressSync(secondZstd.body)
        : secondZstd.body;
    expect(decoded.equals(treeNar)).toBe(true);

    // Without storefront, only nginx's cache can answer.
    await server.stop();
    const third = await httpRequest(url);
    expect(third.status).toBe(200);
    expect(third.headers["x-cache-status"]).toBe("HIT");
    expect(third.body.equals(treeNar)).toBe(true);
  });
});
