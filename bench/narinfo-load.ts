// narinfos from a fresh start and at Nix's concurrency, storefront against nginx, on the work
// dir of a previous `npm run bench` (its store, key and static caches):
//
//   node bench/narinfo-load.ts --work bench/work/full [--samples 5] [--profile DIR]
//
// cold: a storefront started anew for each sample, one warm-up pass of every narinfo (as
// cache-shootout does), then the median of five narinfo-all passes; nginx beside it.
// c25: wrk with 25 connections asking for every narinfo in turn for 5 s, requests per second.
// With --profile, storefront runs under `node --cpu-prof` and writes its profiles into DIR.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { narInfoAll } from "./measure.ts";
import { startNginx, startStorefront, type RunningServer } from "./servers.ts";

const { values: flags } = parseArgs({
  options: {
    work: { type: "string" },
    samples: { type: "string", default: "5" },
    profile: { type: "string" },
  },
  strict: true,
});
const work = flags.work ?? "bench/work/full";
const samples = Number(flags.samples);
const noneCache = join(work, "caches", "none");
const hashes = readdirSync(noneCache)
  .filter((name) => name.endsWith(".narinfo"))
  .map((name) => name.slice(0, 32));

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

const scratch = mkdtempSync(join(tmpdir(), "narinfo-load-"));
const wrkScript = join(scratch, "paths.lua");
writeFileSync(
  wrkScript,
  [
    `local paths = {${hashes.map((hash) => `"/${hash}.narinfo"`).join(",")}}`,
    "local i = 0",
    "request = function()",
    "  i = i % #paths + 1",
    "  return wrk.format(nil, paths[i])",
    "end",
    "",
  ].join("\n"),
);

function wrk(base: string): number {
  const out = execFileSync("wrk", ["-t2", "-c25", "-d5s", "-s", wrkScript, base], {
    encoding: "utf8",
  });
  if (/Non-2xx/.test(out)) throw new Error(`wrk: errors from ${base}\n${out}`);
  return Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1]);
}

async function sfStart(sample: number): Promise<RunningServer> {
  return startStorefront({
    dir: scratch,
    storeRoot: join(work, "store"),
    keyFile: join(work, "bench-key.secret"),
    cacheDirectory: join(scratch, "cache"),
    nodeFlags:
      flags.profile === undefined
        ? []
        : [
            "--cpu-prof",
            `--cpu-prof-dir=${flags.profile}`,
            `--cpu-prof-name=sample-${sample}.cpuprofile`,
          ],
  });
}

async function passes(base: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await narInfoAll(base, hashes)).seconds);
  return median(times);
}

const nginx = await startNginx(join(scratch, "nginx"), { none: noneCache });
const nginxUrl = nginx.urls["none"] ?? "";
const cold = { storefront: [] as number[], nginx: [] as number[], ratio: [] as number[] };
const c25 = { storefront: [] as number[], nginx: [] as number[], ratio: [] as number[] };
try {
  for (let sample = 0; sample < samples; sample++) {
    const sf = await sfStart(sample);
    try {
      await narInfoAll(sf.url, hashes); // the one warm-up pass
      await narInfoAll(nginxUrl, hashes);
      const s = await passes(sf.url);
      const n = await passes(nginxUrl);
      cold.storefront.push(s);
      cold.nginx.push(n);
      cold.ratio.push(s / n);
      const sr = wrk(sf.url);
      const nr = wrk(nginxUrl);
      c25.storefront.push(sr);
      c25.nginx.push(nr);
      c25.ratio.push(nr / sr);
    } finally {
      await sf.stop();
    }
    process.stdout.write(
      `sample ${sample + 1}: cold narinfo-all sf ${cold.storefront.at(-1)?.toFixed(4)} s nginx ${cold.nginx.at(-1)?.toFixed(4)} s; ` +
        `c25 sf ${c25.storefront.at(-1)?.toFixed(0)} req/s nginx ${c25.nginx.at(-1)?.toFixed(0)} req/s\n`,
    );
  }
} finally {
  await nginx.server.stop();
}
process.stdout.write(
  `${hashes.length} narinfos, ${samples} samples, medians:\n` +
    `  narinfo-all after one warm-up pass: sf ${median(cold.storefront).toFixed(4)} s, nginx ${median(cold.nginx).toFixed(4)} s, ratio ${median(cold.ratio).toFixed(2)}\n` +
    `  c25 (wrk): sf ${median(c25.storefront).toFixed(0)} req/s, nginx ${median(c25.nginx).toFixed(0)} req/s, time ratio ${median(c25.ratio).toFixed(2)}\n`,
);
