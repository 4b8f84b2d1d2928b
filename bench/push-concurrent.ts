// Many uploads at once: what storefront's memory does when `--connections` clients (Nix uses
// up to 25) push at the same time. Replays the closure's static cache (`nix copy --to
// file://...`, the files Nix would PUT) into storefront with push on, in front of a real
// nix-daemon on an empty store: each connection takes the next path (references first, larger
// first), PUTs its NAR, waits until its references are registered and PUTs its narinfo, as
// Nix 2.35 does (NARs before their references' narinfos). Root only.
//
//   node bench/push-concurrent.ts [--quick] [--connections 25] [--compression zstd|none|xz]
//                                 [--work DIR] [--toml LINE] [--node-flag FLAG]
//
// Prints the time, VmRSS and PSS of storefront's process tree (idle, peak, after), and how long
// a read (`GET /nix-cache-info`, every 250 ms) waited meanwhile.

import { createReadStream, readFileSync, readdirSync, statSync } from "node:fs";
import { Agent, request } from "node:http";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildClosure, staticCache, type CacheCompression } from "./closure.ts";
import { describePackages, installedPackages, pickPackages } from "./packages.ts";
import { signingKeyIn, startPushTarget, storeSize } from "./push.ts";
import { sampleMemory, treeMemory } from "./rss.ts";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    connections: { type: "string", default: "25" },
    compression: { type: "string", default: "zstd" },
    work: { type: "string" },
    toml: { type: "string", multiple: true, default: [] },
    "node-flag": { type: "string", multiple: true, default: [] },
  },
  strict: true,
});

const connections = Number(flags.connections);
if (!Number.isInteger(connections) || connections < 1 || connections > 200) {
  throw new Error("--connections: a whole number from 1 to 200");
}
const compression = flags.compression as CacheCompression;
if (!["none", "zstd", "xz"].includes(compression)) throw new Error("--compression: none|zstd|xz");

const MIB = 1024 * 1024;

interface Upload {
  readonly hash: string;
  readonly storePath: string;
  readonly narInfo: Buffer;
  readonly narFile: string;
  readonly narUrl: string;
  readonly fileSize: number;
  readonly references: readonly string[];
}

function field(text: string, key: string): string {
  const match = new RegExp(`^${key}: (.*)$`, "m").exec(text);
  return match?.[1] ?? "";
}

/** The cache's uploads, references before referrers, larger first among those ready. */
function uploadsOf(cacheDir: string): Upload[] {
  const byName = new Map<string, Upload>();
  for (const name of readdirSync(cacheDir)) {
    if (!name.endsWith(".narinfo")) continue;
    const text = readFileSync(join(cacheDir, name), "utf8");
    const storePath = field(text, "StorePath");
    const url = field(text, "URL");
    const references = field(text, "References")
      .split(" ")
      .filter((r) => r !== "");
    const baseName = storePath.slice(storePath.lastIndexOf("/") + 1);
    byName.set(baseName, {
      hash: name.slice(0, 32),
      storePath,
      narInfo: Buffer.from(text),
      narFile: join(cacheDir, url),
      narUrl: url,
      fileSize: statSync(join(cacheDir, url)).size,
      references: references.filter((r) => r !== baseName),
    });
  }
  const order: Upload[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const upload = byName.get(name);
    if (upload === undefined) return;
    for (const reference of upload.references) visit(reference);
    order.push(upload);
  };
  const bySize = [...byName.keys()].sort(
    (a, b) => (byName.get(b)?.fileSize ?? 0) - (byName.get(a)?.fileSize ?? 0),
  );
  for (const name of bySize) visit(name);
  return order;
}

/**
 * A PUT, tried again (up to three times) when the connection fails: a kept-alive connection
 * that the server closed after idle_timeout while this one waited for its references fails on
 * reuse, and Nix's curl retries too.
 */
async function put(
  agent: Agent,
  url: string,
  token: string,
  body: Buffer | string,
  length: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await putOnce(agent, url, token, body, length);
      return;
    } catch (error) {
      if (attempt >= 3 || (error as NodeJS.ErrnoException).code === undefined) throw error;
    }
  }
}

function putOnce(
  agent: Agent,
  url: string,
  token: string,
  body: Buffer | string,
  length: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "PUT",
      agent,
      headers: { authorization: `Bearer ${token}`, "content-length": String(length) },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        if (res.statusCode === 200) resolve();
        else reject(new Error(`PUT ${url}: ${res.statusCode} ${text}`));
      });
    });
    req.on("error", reject);
    if (typeof body === "string") {
      const file = createReadStream(body);
      file.on("error", reject);
      file.pipe(req);
    } else {
      req.end(body);
    }
  });
}

async function probe(url: string): Promise<number> {
  const start = performance.now();
  const res = await fetch(`${url}/nix-cache-info`);
  await res.arrayBuffer();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const mode = flags.quick ? "quick" : "full";
  const benchDir = new URL(".", import.meta.url).pathname;
  const workDir = join(resolve(flags.work ?? join(benchDir, "work")), mode);
  const packages = describePackages(pickPackages(installedPackages(), mode));
  const closure = buildClosure(workDir, packages);
  const cacheDir = staticCache(workDir, closure, compression);
  const uploads = uploadsOf(cacheDir);
  const fileBytes = uploads.reduce((sum, u) => sum + u.fileSize, 0);
  const target = await startPushTarget(
    join(workDir, "push-concurrent"),
    signingKeyIn(workDir),
    flags.toml,
    flags["node-flag"],
  );
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    await sleep(1000);
    const idle = treeMemory(target.pid);
    const memory = sampleMemory(target.pid);
    // Each path's registration, by base name: a narinfo is PUT once its references are in.
    const registered = new Map<string, PromiseWithResolvers<undefined>>();
    for (const upload of uploads) {
      registered.set(
        upload.storePath.slice(upload.storePath.lastIndexOf("/") + 1),
        Promise.withResolvers<undefined>(),
      );
    }
    const probing = { on: true };
    let slowestRead = 0;
    const prober = (async () => {
      while (probing.on) {
        // A failed read counts as the slowest possible; the uploads' own errors come first.
        slowestRead = Math.max(slowestRead, await probe(target.url).catch(() => Infinity));
        await sleep(250);
      }
    })();
    // Milliseconds spent in the NAR PUTs and in the narinfo PUTs (the daemon's import), summed.
    const spent = { nar: 0, narInfo: 0 };
    const queue = [...uploads];
    const start = performance.now();
    const worker = async (): Promise<void> => {
      for (let upload = queue.shift(); upload !== undefined; upload = queue.shift()) {
        let begin = performance.now();
        await put(
          agent,
          `${target.url}/${upload.narUrl}`,
          target.token,
          upload.narFile,
          upload.fileSize,
        );
        spent.nar += performance.now() - begin;
        for (const reference of upload.references) await registered.get(reference)?.promise;
        begin = performance.now();
        await put(
          agent,
          `${target.url}/${upload.hash}.narinfo`,
          target.token,
          upload.narInfo,
          upload.narInfo.length,
        );
        spent.narInfo += performance.now() - begin;
        registered
          .get(upload.storePath.slice(upload.storePath.lastIndexOf("/") + 1))
          ?.resolve(undefined);
      }
    };
    try {
      await Promise.all(Array.from({ length: connections }, worker));
    } finally {
      probing.on = false;
    }
    const seconds = (performance.now() - start) / 1000;
    const peak = memory.stop();
    probing.on = false;
    await prober;
    const landed = storeSize(target.root).paths;
    await sleep(5000);
    const after = treeMemory(target.pid);
    const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`;
    process.stdout.write(
      [
        `${uploads.length} paths, ${mib(fileBytes)} of ${compression} NARs, ${connections} connections: ` +
          `${seconds.toFixed(2)} s, ${(fileBytes / MIB / seconds).toFixed(0)} MiB/s; ${landed} paths valid`,
        `VmRSS (sum over ${peak.processes} process(es) at most): idle ${mib(idle.rss)}, peak ${mib(peak.rss)}, ` +
          `5 s after ${mib(after.rss)}; PSS idle ${mib(idle.pss)}, peak ${mib(peak.pss)}`,
        `time in requests, summed over the connections: NAR PUTs ${(spent.nar / 1000).toFixed(2)} s, ` +
          `narinfo PUTs ${(spent.narInfo / 1000).toFixed(2)} s`,
        `slowest GET /nix-cache-info meanwhile: ${slowestRead.toFixed(0)} ms`,
        "",
      ].join("\n"),
    );
    if (landed !== uploads.length) process.exitCode = 1;
  } finally {
    agent.destroy();
    await target.stop();
  }
}

process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
await main();
