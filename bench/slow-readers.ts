// Slow readers: what many clients that read a download at a crawl cost storefront, and whether
// others are still served meanwhile. Loopback only, bounded in count and time.
//
//   node bench/slow-readers.ts [--readers 300] [--kind zstd] [--seconds 30] [--rate 100]
//                              [--work bench/work/slow-readers] [--storefront DIR] [--toml LINE]
//                              [--probe-ms 500]
//
// It builds test/fixtures/big.nix (24 MiB of random bytes) into a store of its own with the real
// nix-build, starts `storefront serve` on it (one process, its defaults, a fresh NAR cache),
// and reports the server's VmRSS when idle, its peak while `--readers` clients each read a
// download of `--kind` at `--rate` bytes a second, how long a narinfo took meanwhile (probed
// every `--probe-ms`, half a second by default: a shorter pause catches more of the burst when
// the readers arrive), how the readers were answered, and VmRSS again some seconds after they
// left. `--kind` is one of plain, zstd, gzip, br, range, tar, tar-zstd, serve, or mixed (all of
// them in turn). `--storefront DIR` measures another checkout (DIR/src/bin.js), e.g. an older
// commit extracted with `git archive`.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const KINDS = ["plain", "zstd", "gzip", "br", "range", "tar", "tar-zstd", "serve"] as const;
type Kind = (typeof KINDS)[number];
const MAX_READERS = 2000;
const MAX_SECONDS = 300;

const { values } = parseArgs({
  options: {
    readers: { type: "string", default: "300" },
    kind: { type: "string", default: "zstd" },
    seconds: { type: "string", default: "30" },
    rate: { type: "string", default: "100" },
    work: { type: "string", default: join(ROOT, "bench/work/slow-readers") },
    storefront: { type: "string", default: ROOT },
    toml: { type: "string", multiple: true, default: [] },
    "probe-ms": { type: "string", default: "500" },
  },
});
const readers = Math.min(Number(values.readers), MAX_READERS);
const seconds = Math.min(Number(values.seconds), MAX_SECONDS);
const rate = Number(values.rate);
const probePause = Math.max(10, Number(values["probe-ms"]));
const work = resolve(values.work);
const kinds: readonly Kind[] =
  values.kind === "mixed" ? KINDS : KINDS.filter((kind) => kind === values.kind);
if (kinds.length === 0 || !(readers > 0) || !(seconds > 0) || !(rate > 0) || !(probePause > 0)) {
  process.stderr.write(`usage: see the comment at the top of bench/slow-readers.ts\n`);
  process.exit(1);
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function vmRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

/** The store with the big path, built once and reused. */
function buildStore(): string {
  const storeRoot = join(work, "store");
  const marker = join(work, "big-path");
  if (!existsSync(marker)) {
    mkdirSync(work, { recursive: true });
    const out = execFileSync(
      "nix-build",
      [
        "--store",
        storeRoot,
        "--option",
        "substituters",
        "",
        "--option",
        "extra-sandbox-paths",
        "/bin /usr /lib /lib64 /dev/urandom",
        "--no-out-link",
        join(ROOT, "test/fixtures/big.nix"),
        "-A",
        "big",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    writeFileSync(marker, out.trim());
  }
  return readFileSync(marker, "utf8").trim();
}

interface Server {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

async function startServer(storeRoot: string): Promise<Server> {
  const cacheDirectory = join(work, "cache");
  rmSync(cacheDirectory, { recursive: true, force: true });
  mkdirSync(cacheDirectory, { recursive: true });
  const config = join(work, "storefront.toml");
  const toml = [
    'bind = "127.0.0.1:0"',
    "workers = 1",
    `real_nix_store = ${JSON.stringify(join(storeRoot, "nix/store"))}`,
    ...values.toml,
  ];
  writeFileSync(config, toml.join("\n") + "\n");
  const child = spawn(
    process.execPath,
    [join(resolve(values.storefront), "src/bin.js"), "serve", "--config", config],
    {
      env: { ...process.env, CACHE_DIRECTORY: cacheDirectory },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  const port = await new Promise<number>((found, failed) => {
    child.stderr.on("data", (data: Buffer) => {
      log += data.toString();
      const match = /listening on \S*:(\d+)/.exec(log);
      if (match !== null) found(Number(match[1]));
    });
    child.once("exit", (code) => {
      failed(new Error(`storefront exited with ${String(code)}: ${log}`));
    });
  });
  return {
    pid: child.pid ?? 0,
    port,
    stop: async () => {
      child.kill("SIGKILL");
      await new Promise((done) => child.once("exit", done));
    },
  };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, failed) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        done({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", failed);
    req.end();
  });
}

function requestFor(kind: Kind, narPath: string, big: string): { path: string; headers: string[] } {
  const hash = basename(big).slice(0, 32);
  switch (kind) {
    case "plain":
      return { path: narPath, headers: [] };
    case "zstd":
    case "gzip":
    case "br":
      return { path: narPath, headers: [`Accept-Encoding: ${kind}`] };
    case "range":
      return { path: narPath, headers: ["Range: bytes=4096-"] };
    case "tar":
      return { path: `/${hash}.tar`, headers: [] };
    case "tar-zstd":
      return { path: `/${hash}.tar`, headers: ["Accept-Encoding: zstd"] };
    case "serve":
      return { path: `/serve/${basename(big)}/blob`, headers: [] };
  }
}

interface Reader {
  readonly socket: Socket;
  status: number | undefined;
}

/** A client that sends its request and reads `rate` bytes a second from then on. */
function slowReader(port: number, path: string, headers: readonly string[]): Reader {
  const socket = connect({ host: "127.0.0.1", port });
  // A small receive buffer, as over a slow link: the kernel holds little on our side.
  const reader: Reader = { socket, status: undefined };
  socket.on("error", () => undefined);
  socket.once("connect", () => {
    socket.write([`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", ...headers, "", ""].join("\r\n"));
    socket.pause();
    const timer = setInterval(() => {
      const chunk = socket.read(Math.max(1, Math.floor(rate / 4))) as Buffer | null;
      if (chunk !== null && reader.status === undefined) {
        reader.status = Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString("latin1"))?.[1] ?? 0);
      }
    }, 250);
    socket.once("close", () => {
      clearInterval(timer);
    });
  });
  return reader;
}

async function main(): Promise<void> {
  const big = buildStore();
  const server = await startServer(join(work, "store"));
  const hash = basename(big).slice(0, 32);
  const narinfo = await get(server.port, `/${hash}.narinfo`);
  const narPath = `/${/^URL: (.*)$/m.exec(narinfo.body)?.[1] ?? ""}`;
  await sleep(2_000);
  const idle = vmRss(server.pid);

  let peak = idle;
  let slowestProbe = 0;
  let slowestAt = 0;
  const began = performance.now();
  const probes: number[] = [];
  const sampler = setInterval(() => {
    peak = Math.max(peak, vmRss(server.pid));
  }, 100);
  const probing = { on: true };
  const prober = (async () => {
    while (probing.on) {
      const started = performance.now();
      await get(server.port, `/${hash}.narinfo`);
      const ms = performance.now() - started;
      probes.push(ms);
      if (ms > slowestProbe) {
        slowestProbe = ms;
        slowestAt = (started - began) / 1000;
      }
      await sleep(probePause);
    }
  })();

  const clients: Reader[] = [];
  for (let i = 0; i < readers; i += 1) {
    const { path, headers } = requestFor(kinds[i % kinds.length] ?? "plain", narPath, big);
    clients.push(slowReader(server.port, path, headers));
    // Not all in one burst, as clients arrive.
    if (i % 50 === 49) await sleep(100);
  }
  await sleep(seconds * 1000);
  const during = vmRss(server.pid);
  for (const client of clients) client.socket.destroy();
  probing.on = false;
  await prober;
  clearInterval(sampler);
  // Give the server time to let go of what the readers held.
  await sleep(10_000);
  const after = vmRss(server.pid);
  const metrics = (await get(server.port, "/metrics")).body;
  const metric = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? Number.NaN);
  await server.stop();

  const statuses = new Map<string, number>();
  for (const { status } of clients) {
    const key = status === undefined ? "none yet" : String(status);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  probes.sort((a, b) => a - b);
  const median = probes[Math.floor(probes.length / 2)] ?? 0;
  const lines = [
    `storefront ${resolve(values.storefront)}, ${readers} readers of ${kinds.join("/")} at ${rate} B/s for ${seconds} s`,
    `VmRSS idle ${mib(idle)}, peak ${mib(peak)}, at the end ${mib(during)}, 10 s after they left ${mib(after)} (idle + ${mib(after - idle)})`,
    `narinfo probes: ${probes.length}, median ${median.toFixed(1)} ms, over 100 ms ${probes.filter((ms) => ms > 100).length}, slowest ${slowestProbe.toFixed(1)} ms (${slowestAt.toFixed(1)} s after the readers began to come)`,
    `after: V8 heap ${mib(metric("storefront_nodejs_heap_size_total_bytes"))} (used ${mib(metric("storefront_nodejs_heap_size_used_bytes"))}), external ${mib(metric("storefront_nodejs_external_memory_bytes"))}, streams in flight ${metric("storefront_streams_in_flight")}`,
    `readers answered: ${[...statuses].map(([status, count]) => `${status} ×${count}`).join(", ")}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

await main();
