// Hang-ups: what clients that go away at once leave behind in storefront. Loopback only,
// bounded in count.
//
//   node bench/hang-ups.ts [--requests 600] [--work bench/work/slow-readers] [--storefront DIR]
//
// Uses the store of bench/slow-readers.ts (built there when missing: run it once first), starts
// `storefront serve` on it with a fresh NAR cache, and sends `--requests` zstd NAR requests
// (the compressed cache's first write) on connections closed right after the request, a
// millisecond or so later, or after the first bytes: the moments when the cache's temporary
// file is being opened. Then it reports what the server still holds once they are all gone:
// streams in flight, descriptors, VmRSS and temporary files in the NAR cache.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const MAX_REQUESTS = 5000;

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "600" },
    work: { type: "string", default: join(ROOT, "bench/work/slow-readers") },
    storefront: { type: "string", default: ROOT },
  },
});
const requests = Math.min(Number(values.requests), MAX_REQUESTS);
const work = resolve(values.work);
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function get(port: number, path: string): Promise<string> {
  return new Promise((done, failed) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        done(body);
      });
    });
    req.on("error", failed);
    req.end();
  });
}

function hangUp(port: number, path: string, afterMs: number): Promise<void> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    socket.once("close", () => {
      done();
    });
    socket.once("connect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: zstd\r\n\r\n`);
      if (afterMs < 0) socket.once("data", () => socket.destroy());
      else if (afterMs === 0) socket.destroy();
      else setTimeout(() => socket.destroy(), afterMs);
    });
  });
}

async function main(): Promise<void> {
  const big = readFileSync(join(work, "big-path"), "utf8").trim();
  const cacheDirectory = join(work, "hang-ups-cache");
  rmSync(cacheDirectory, { recursive: true, force: true });
  mkdirSync(cacheDirectory, { recursive: true });
  const config = join(work, "hang-ups.toml");
  writeFileSync(
    config,
    `bind = "127.0.0.1:0"\nworkers = 1\nreal_nix_store = ${JSON.stringify(join(work, "store/nix/store"))}\n`,
  );
  const child = spawn(
    process.execPath,
    [join(resolve(values.storefront), "src/bin.js"), "serve", "--config", config],
    {
      env: { ...process.env, CACHE_DIRECTORY: cacheDirectory },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  const port = await new Promise<number>((found) => {
    child.stderr.on("data", (data: Buffer) => {
      log += data.toString();
      const match = /listening on \S*:(\d+)/.exec(log);
      if (match !== null) found(Number(match[1]));
    });
  });
  const pid = child.pid ?? 0;
  const hash = basename(big).slice(0, 32);
  const narPath = `/${/^URL: (.*)$/m.exec(await get(port, `/${hash}.narinfo`))?.[1] ?? ""}`;
  const state = async (): Promise<string> => {
    const metrics = await get(port, "/metrics");
    const inFlight = /^storefront_nar_streams_in_flight (\S+)$/m.exec(metrics)?.[1] ?? "?";
    const rss = Number(
      /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1],
    );
    const temps = readdirSync(join(cacheDirectory, "nars")).filter((n) => n.startsWith(".tmp-"));
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return `NAR streams in flight ${inFlight}, descriptors ${fds}, VmRSS ${(rss / 1024).toFixed(0)} MiB, temporary files ${temps.length}`;
  };
  await sleep(1_000);
  const before = await state();
  const moments = [0, 1, 2, -1];
  for (let i = 0; i < requests; i += 20) {
    const batch = [];
    for (let j = i; j < Math.min(i + 20, requests); j += 1) {
      batch.push(hangUp(port, narPath, moments[j % moments.length] ?? 0));
    }
    await Promise.all(batch);
  }
  await sleep(5_000);
  const after = await state();
  child.kill("SIGKILL");
  const errors = log.split("\n").filter((line) => line.startsWith("error")).length;
  process.stdout.write(
    [
      `storefront ${resolve(values.storefront)}, ${requests} zstd NAR requests whose clients went away at once`,
      `before: ${before}`,
      `5 s after the last: ${after}`,
      `error lines in the log: ${errors}`,
    ].join("\n") + "\n",
  );
}

await main();
