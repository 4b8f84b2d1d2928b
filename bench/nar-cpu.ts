// CPU time per GiB of repeat NAR downloads (served from layouts, or from the compressed cache
// with --zstd), storefront's threads against nginx's processes, at 1, 4 and 16 connections:
// what each server spends on a byte, which a shared, busy machine disturbs far less than the
// wall-clock time of a pass.
//
//   node bench/nar-cpu.ts --work bench/work/full [--samples 3] [--zstd] [-- node flags]

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadNarRefs, narPass, type Target } from "./measure.ts";
import { startNginx, startStorefront } from "./servers.ts";

const { values: flags, positionals: nodeFlags } = parseArgs({
  allowPositionals: true,
  options: {
    work: { type: "string" },
    samples: { type: "string", default: "3" },
    zstd: { type: "boolean", default: false },
  },
  strict: true,
});
const work = flags.work ?? "bench/work/full";
const cacheName = flags.zstd ? "zstd" : "none";
const hashes = readdirSync(join(work, "caches", "none"))
  .filter((name) => name.endsWith(".narinfo"))
  .map((name) => name.slice(0, 32));
const scratch = join(work, "nar-cpu");
mkdirSync(scratch, { recursive: true });

/** CPU seconds of every thread of each process in `pids`. */
const cpuOf = (pids: readonly number[]): number =>
  pids.reduce(
    (sum, pid) =>
      sum +
      readdirSync(`/proc/${pid}/task`).reduce((threads, task) => {
        try {
          const ns = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0];
          return threads + Number(ns) / 1e9;
        } catch {
          return threads;
        }
      }, 0),
    0,
  );
const nginxPids = (master: number): number[] => [
  master,
  ...execFileSync("pgrep", ["-P", String(master)], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map(Number),
];
const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const sf = await startStorefront({
  dir: scratch,
  storeRoot: join(work, "store"),
  keyFile: join(work, "bench-key.secret"),
  cacheDirectory: join(scratch, "cache"),
  nodeFlags,
});
const nginx = await startNginx(join(scratch, "nginx"), {
  [cacheName]: join(work, "caches", cacheName),
});
const headers: Record<string, string> = flags.zstd ? { "accept-encoding": "zstd" } : {};
try {
  const sfTarget: Target = {
    name: "storefront",
    base: sf.url,
    nars: await loadNarRefs(sf.url, hashes),
    headers,
  };
  const nginxUrl = nginx.urls[cacheName] ?? "";
  const nginxTarget: Target = {
    name: "nginx",
    base: nginxUrl,
    nars: await loadNarRefs(nginxUrl, hashes),
    headers: {},
  };
  // Layouts recorded (and compressed entries made), then one untimed pass each.
  await narPass(sfTarget, 1);
  await new Promise((resolve) => setTimeout(resolve, flags.zstd ? 30_000 : 2000));
  await narPass(sfTarget, 1);
  await narPass(nginxTarget, 1);
  for (const connections of [1, 4, 16]) {
    const rows = { sf: [] as number[], nginx: [] as number[], sfWall: [] as number[] };
    const nginxWall: number[] = [];
    for (let sample = 0; sample < Number(flags.samples); sample++) {
      for (const [who, target, pids] of [
        ["sf", sfTarget, [sf.pid]],
        ["nginx", nginxTarget, nginxPids(nginx.server.pid)],
      ] as const) {
        const before = cpuOf(pids);
        const pass = await narPass(target, connections);
        const gib = pass.bytes / 2 ** 30;
        const perGib = (cpuOf(pids) - before) / gib;
        if (who === "sf") {
          rows.sf.push(perGib);
          rows.sfWall.push(pass.seconds);
        } else {
          rows.nginx.push(perGib);
          nginxWall.push(pass.seconds);
        }
      }
    }
    process.stdout.write(
      `c${connections}: CPU s per GiB sf ${median(rows.sf).toFixed(3)} nginx ${median(rows.nginx).toFixed(3)} ` +
        `(ratio ${median(rows.sf.map((s, i) => s / (rows.nginx[i] ?? NaN))).toFixed(2)}); ` +
        `wall s sf ${median(rows.sfWall).toFixed(2)} nginx ${median(nginxWall).toFixed(2)}\n`,
    );
  }
} finally {
  await sf.stop();
  await nginx.server.stop();
}
