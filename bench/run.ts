// `npm run bench`: storefront against nginx on one closure, the metrics of cache-shootout, and a
// report (bench/RESULTS.md + bench/results.svg). See bench/README.md for what each step does.
//
//   npm run bench                    full run: ~360 paths, ~1.2 GiB of NAR, 7 samples
//   npm run bench -- --quick         small closure, one sample; report in bench/work/quick/
//   npm run bench -- --samples 7 --out /tmp/RESULTS.md --profile

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { buildClosure, staticCache } from "./closure.ts";
import { renderChart } from "./chart.ts";
import { describeMachine } from "./machine.ts";
import {
  loadNarRefs,
  narInfoAll,
  narPass,
  verifiedPass,
  type Pass,
  type Target,
} from "./measure.ts";
import {
  FLOOR_METRICS,
  TIMED_METRICS,
  isFloorMetric,
  type FloorMetric,
  type MetricId,
} from "./metrics.ts";
import { describePackages, installedPackages, pickPackages } from "./packages.ts";
import { summariseProfiles, type ProfileSummary } from "./profile.ts";
import { chartRows, renderReport, type Results } from "./report.ts";
import { sampleMemory, treeMemory, type TreeMemory } from "./rss.ts";
import { buildEveryNar } from "./generation.ts";
import { NGINX, startNginx, startNodeFloor, startStorefront } from "./servers.ts";
import { measurePush } from "./push.ts";
import type { RunningServer } from "./servers.ts";
import { filesystemOf } from "./filesystem.ts";
import { WRK, narInfosAtConcurrency } from "./wrk.ts";
import type { ScaleResults } from "./scale-report.ts";

const BENCH_DIR = dirname(new URL(import.meta.url).pathname);

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    samples: { type: "string" },
    out: { type: "string" },
    work: { type: "string" },
    profile: { type: "boolean", default: false },
    "report-only": { type: "boolean", default: false },
    workers: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (flags.help) {
  process.stdout
    .write(`Usage: npm run bench -- [--quick] [--samples N] [--out FILE] [--work DIR] [--profile] [--report-only]

  --quick      ~30 small store paths, one sample (CI); report goes to the work dir
  --samples N  samples per metric and server (default 7; 1 with --quick)
  --out FILE   where RESULTS.md goes (default bench/RESULTS.md; the SVG goes beside it)
  --work DIR   stores, caches and server files (default bench/work/, gitignored)
  --profile    also profile storefront (node --cpu-prof) and add its hottest functions
  --workers N  storefront's \`workers\` (default: storefront's default, one process)
  --report-only  write the report again from the work dir's results.json (after editing
               bench/notes.md), measuring nothing
`);
  process.exit(0);
}

const mode = flags.quick ? "quick" : "full";
const samples = Number(flags.samples ?? (flags.quick ? 1 : 7));
if (!Number.isInteger(samples) || samples < 1)
  throw new Error("--samples must be a positive integer");
const workRoot = resolve(flags.work ?? join(BENCH_DIR, "work"));
const workDir = join(workRoot, mode);
const outFile = resolve(
  flags.out ?? (flags.quick ? join(workDir, "RESULTS.md") : join(BENCH_DIR, "RESULTS.md")),
);
const svgFile = join(dirname(outFile), "results.svg");
const workers = flags.workers === undefined ? undefined : Number(flags.workers);
if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) {
  throw new Error("--workers must be a positive integer");
}

function step(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function requireTools(): void {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: apt-get install nginx-light`);
  try {
    execFileSync("nix-build", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("nix-build not found: apt-get install nix-bin");
  }
  try {
    execFileSync(WRK, ["--version"], { stdio: "ignore" });
  } catch (error) {
    // `wrk --version` prints its usage and exits 1: only a missing binary matters.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("wrk not found: apt-get install wrk", { cause: error });
    }
  }
}

function signingKey(dir: string): string {
  const secret = join(dir, "bench-key.secret");
  if (!existsSync(secret)) {
    execFileSync("nix-store", [
      "--generate-binary-cache-key",
      "storefront-bench-1",
      secret,
      join(dir, "bench-key.public"),
    ]);
  }
  return secret;
}

/** Bytes of the files in `dir` (and below) whose names end with `suffix`. */
function directorySize(dir: string, suffix = ""): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    try {
      total += statSync(join(entry.parentPath, entry.name)).size;
    } catch {
      // A temporary file renamed or removed while we looked.
    }
  }
  return total;
}

/**
 * Empties storefront's NAR cache under the running server, as if it had never served: each
 * entry is looked for on disk when a NAR is asked for, so a missing one is simply a miss.
 */
function emptyDirectory(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Waits until the NAR cache stops growing: writes may finish after the response did. */
async function waitCacheSettled(dir: string): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const size = directorySize(dir);
    if (size !== last) {
      last = size;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 1000) {
      break;
    }
    await sleep(200);
  }
}

/**
 * Every narinfo, over four connections one after the other: the cluster hands connections to
 * its workers in turn, and each worker has a narinfo cache of its own to fill.
 */
async function warmNarInfos(base: string, hashes: readonly string[]): Promise<void> {
  for (let i = 0; i < 4; i++) await narInfoAll(base, hashes);
}

/** bench/scale.ts's figures, when it has run with the same work root. */
function scaleResults(): ScaleResults | undefined {
  const file = join(workRoot, "scale", "results.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ScaleResults) : undefined;
}

function writeReport(results: Results): void {
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, renderReport(results, "results.svg", { scale: scaleResults() }));
  const rows = chartRows(results);
  const { cpu, cores, date } = results.machine;
  writeFileSync(svgFile, renderChart(rows.ratios, rows.memory, `${cpu}, ${cores} cores; ${date}`));
  step(`report: ${outFile} and ${svgFile}`);
  process.stdout.write(renderReport(results, "results.svg", { tableOnly: true }));
}

async function main(): Promise<void> {
  if (flags["report-only"]) {
    writeReport(JSON.parse(readFileSync(join(workDir, "results.json"), "utf8")) as Results);
    return;
  }
  requireTools();
  mkdirSync(workDir, { recursive: true });
  const machine = describeMachine();

  step(`${mode} run, ${samples} sample(s) per metric and server; work dir ${workDir}`);
  const packages = describePackages(pickPackages(installedPackages(), mode));
  step(`closure: ${packages.length} Debian packages; building with nix-build (reused if built)`);
  const closure = buildClosure(workDir, packages);
  step("static caches: nix copy --to file://...?compression=none and ?compression=zstd");
  const noneCache = staticCache(workDir, closure, "none");
  const zstdCache = staticCache(workDir, closure, "zstd");
  const hashes = closure.paths.map((p) => p.slice("/nix/store/".length, "/nix/store/".length + 32));
  const keyFile = signingKey(workDir);
  // storefront's $CACHE_DIRECTORY: its NAR cache (`nars`, emptied for every sample) and Node's
  // compile cache (kept, as it is between restarts of a real server).
  const storefrontCache = join(workDir, "storefront-cache");
  const narCache = join(storefrontCache, "nars");
  const profileRoot = join(workDir, "profiles");

  const servers: RunningServer[] = [];
  const startSf = async (nodeFlags: readonly string[] = []): Promise<RunningServer> => {
    const server = await startStorefront({
      dir: workDir,
      storeRoot: closure.root,
      keyFile,
      cacheDirectory: storefrontCache,
      nodeFlags,
      workers,
    });
    servers.push(server);
    return server;
  };
  const stopSf = async (server: RunningServer): Promise<void> => {
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
  };

  try {
    const nginx = await startNginx(join(workDir, "nginx"), { none: noneCache, zstd: zstdCache });
    servers.push(nginx.server);
    const nginxNone = nginx.urls["none"] ?? "";
    const nginxZstd = nginx.urls["zstd"] ?? "";
    // The Node floor: one process for each static cache, like nginx's two sites.
    let floor = await startNodeFloor(noneCache);
    servers.push(floor);
    const floorZstd = await startNodeFloor(zstdCache);
    servers.push(floorZstd);
    rmSync(narCache, { recursive: true, force: true });
    let storefront = await startSf();
    await sleep(1000); // workers may still be starting when the first answers
    const idle = treeMemory(storefront.pid);
    const narCacheFilesystem = filesystemOf(storefrontCache);
    if (narCacheFilesystem === "tmpfs") {
      step("warning: the NAR cache is on tmpfs; first downloads will be faster than on a disk");
    }
    // A fresh start, with an empty NAR cache: what a client meets after a restart or an upgrade.
    const restartSf = async (): Promise<void> => {
      await stopSf(storefront);
      emptyDirectory(narCache);
      storefront = await startSf();
    };
    step(
      `servers: nginx at ${nginxNone} (none) and ${nginxZstd} (zstd), storefront at ${storefront.url}`,
    );

    const sfNars = await loadNarRefs(storefront.url, hashes);
    const targets = {
      storefront: { name: "storefront", base: storefront.url, nars: sfNars, headers: {} },
      nginx: {
        name: "nginx",
        base: nginxNone,
        nars: await loadNarRefs(nginxNone, hashes),
        headers: {},
      },
      storefrontZstd: {
        name: "storefront",
        base: storefront.url,
        nars: sfNars,
        headers: { "accept-encoding": "zstd" },
      },
      nginxZstd: {
        name: "nginx",
        base: nginxZstd,
        nars: await loadNarRefs(nginxZstd, hashes),
        headers: {},
      },
      floor: {
        name: "node floor",
        base: floor.url,
        nars: await loadNarRefs(floor.url, hashes),
        headers: {},
      },
      floorZstd: {
        name: "node floor",
        base: floorZstd.url,
        nars: await loadNarRefs(floorZstd.url, hashes),
        headers: {},
      },
    };
    const narBytes = sfNars.reduce((sum, nar) => sum + nar.narSize, 0);
    const withBase = (target: Target, base: string): Target => ({ ...target, base });

    step("warm-up: every NAR from each server once, each checked against its NarHash");
    const warm: Record<string, Pass> = {};
    for (const [name, target] of Object.entries(targets)) {
      warm[name] = await verifiedPass(target, 2);
    }
    await warmNarInfos(storefront.url, hashes);
    await warmNarInfos(nginxNone, hashes);
    await warmNarInfos(floor.url, hashes);

    const times = Object.fromEntries(
      TIMED_METRICS.map((m) => [m.id, { storefront: [] as number[], nginx: [] as number[] }]),
    ) as Record<MetricId, { storefront: number[]; nginx: number[] }>;
    const floorTimes = Object.fromEntries(FLOOR_METRICS.map((m) => [m, [] as number[]])) as Record<
      FloorMetric,
      number[]
    >;
    /** Where a pass's seconds go: storefront's and nginx's to the goal table, the floor's aside. */
    const record = (metric: MetricId, who: "storefront" | "nginx" | "floor", s: number): void => {
      if (who !== "floor") times[metric][who].push(s);
      else if (isFloorMetric(metric)) floorTimes[metric].push(s);
    };
    /** The floor started anew, as storefront is for the rows measured from a fresh start. */
    const restartFloor = async (): Promise<void> => {
      await floor.stop();
      servers.splice(servers.indexOf(floor), 1);
      floor = await startNodeFloor(noneCache);
      servers.push(floor);
    };
    const narInfoRates = { storefront: [] as number[], nginx: [] as number[] };
    const wrkSeconds = flags.quick ? 2 : 5;
    const generation: number[] = [];
    const memoryPeaks: TreeMemory[] = [];
    const zstdEncodings: Record<string, number> = {};
    const zstdWire = { storefrontFirst: 0, storefrontRepeat: 0, nginx: 0 };
    let cacheBytes = 0;

    const check = (pass: Pass, what: string, expected: number | undefined): Pass => {
      if (expected !== undefined && pass.bytes !== expected) {
        throw new Error(`${what}: received ${pass.bytes} bytes, expected ${expected}`);
      }
      return pass;
    };
    /** Each server goes first in turn, from one sample (and metric) to the next. */
    const inTurn = <T>(contenders: readonly T[], turn: number): T[] => {
      const first = turn % contenders.length;
      return [...contenders.slice(first), ...contenders.slice(0, first)];
    };
    /** A narinfo-all sample: the median of five passes (one takes tens of milliseconds). */
    const narInfoSample = async (base: string): Promise<Pass> => {
      const passes: Pass[] = [];
      for (let i = 0; i < 5; i++) passes.push(await narInfoAll(base, hashes));
      passes.sort((a, b) => a.seconds - b.seconds);
      return passes[2] as Pass;
    };

    // nginx and the Node floor run through all samples. storefront is started anew, with an
    // empty NAR cache, for the first downloads and the narinfo figure with a goal, as a client
    // meets it after a restart or an upgrade (cache-shootout's method: a fresh start and one
    // warm-up pass); the other rows follow on the same process, as a daemon serves.
    for (let sample = 0; sample < samples; sample++) {
      step(`sample ${sample + 1}/${samples}`);
      await restartSf();
      const sfZstd = withBase(targets.storefrontZstd, storefront.url);
      for (const who of inTurn(["nginx", "storefront", "floor"] as const, sample)) {
        const target =
          who === "storefront" ? sfZstd : who === "floor" ? targets.floorZstd : targets.nginxZstd;
        // The floor sends files compressed in advance, like nginx: no first download of its own.
        const first = who === "floor" ? undefined : await narPass(target, 1);
        if (first !== undefined) record("zstd-first", who, first.seconds);
        // storefront may still be writing its compressed entries after the response ended.
        if (who === "storefront") {
          await waitCacheSettled(narCache);
          cacheBytes = directorySize(narCache, ".zst");
        }
        const repeat = await narPass(target, 1);
        record("zstd-repeat", who, repeat.seconds);
        record("zstd-repeat-c4", who, (await narPass(target, 4)).seconds);
        record("zstd-repeat-c16", who, (await narPass(target, 16)).seconds);
        if (who === "storefront") {
          zstdWire.storefrontFirst = first?.bytes ?? 0;
          zstdWire.storefrontRepeat = repeat.bytes;
          for (const [encoding, count] of Object.entries(repeat.encodings)) {
            zstdEncodings[encoding] = (zstdEncodings[encoding] ?? 0) + count;
          }
        } else if (who === "nginx") {
          zstdWire.nginx = repeat.bytes;
        }
      }

      // A fresh start with an empty NAR cache: one untimed pass of every narinfo, the timed
      // narinfo passes, then the first plain download (every path walked, its layout recorded).
      // The floor is started anew beside it: its fresh start is what any Node server meets.
      await restartSf();
      await restartFloor();
      const sf = withBase(targets.storefront, storefront.url);
      const fl = withBase(targets.floor, floor.url);
      const contenders = ["storefront", "nginx", "floor"] as const;
      const targetOf = (who: (typeof contenders)[number]): Target =>
        who === "storefront" ? sf : who === "floor" ? fl : targets.nginx;
      for (const who of inTurn(contenders, sample)) {
        const base = targetOf(who).base;
        await narInfoAll(base, hashes);
        record("narinfo-all", who, (await narInfoSample(base)).seconds);
      }
      for (const who of inTurn(contenders, sample + 1)) {
        const pass = check(await narPass(targetOf(who), 1), `${who} nar-c1-first`, narBytes);
        record("nar-c1-first", who, pass.seconds);
      }
      // The same warm-up as at the start (untimed): every narinfo and every NAR once more, so
      // that the NAR passes below are served from the layouts, as repeat downloads are.
      for (const target of [sf, fl]) {
        await warmNarInfos(target.base, hashes);
        await narPass(target, 2);
      }
      for (const who of inTurn(contenders, sample)) {
        const pass = await narInfosAtConcurrency(targetOf(who).base, hashes, workDir, wrkSeconds);
        record("narinfo-c25", who, pass.secondsPerPass);
        if (who !== "floor") narInfoRates[who].push(pass.requestsPerSecond);
      }
      for (const [index, metric] of (
        ["narinfo-all-warm", "nar-c1", "nar-c4", "nar-c16"] as const
      ).entries()) {
        for (const who of inTurn(contenders, sample + index)) {
          const target = targetOf(who);
          let pass: Pass;
          if (metric === "narinfo-all-warm") {
            pass = await narInfoSample(target.base);
          } else {
            const connections = Number(metric.slice("nar-c".length));
            const rss =
              who === "storefront" && connections === 16 ? sampleMemory(storefront.pid) : undefined;
            pass = check(await narPass(target, connections), `${who} ${metric}`, narBytes);
            if (rss !== undefined) memoryPeaks.push(rss.stop());
          }
          record(metric, who, pass.seconds);
        }
      }
      // storefront's NAR serialiser alone, in this process, no server involved.
      generation.push(buildEveryNar(join(closure.root, "nix/store"), closure.paths, sfNars));
    }

    let profile: { metric: string; summary: ProfileSummary }[] | undefined;
    if (flags.profile) {
      profile = [];
      await stopSf(storefront);
      for (const metric of ["narinfo-all", "nar-c1", "nar-c16", "zstd-first"] as const) {
        step(`profile: ${metric}`);
        const dir = join(profileRoot, metric);
        rmSync(dir, { recursive: true, force: true });
        // The NAR passes read the layouts the samples recorded, as the timed passes do.
        if (metric === "zstd-first") emptyDirectory(narCache);
        const profiled = await startSf(["--cpu-prof", `--cpu-prof-dir=${dir}`]);
        const sf = withBase(targets.storefront, profiled.url);
        // Several passes, so that start-up (module loading, compiling) weighs little.
        if (metric === "narinfo-all") {
          for (let i = 0; i < 50; i++) await narInfoAll(profiled.url, hashes);
        } else if (metric === "zstd-first") {
          await narPass(withBase(targets.storefrontZstd, profiled.url), 1);
        } else {
          for (let i = 0; i < 3; i++) await narPass(sf, Number(metric.slice("nar-c".length)));
        }
        await stopSf(profiled);
        profile.push({ metric, summary: summariseProfiles(dir, 15) });
      }
      storefront = await startSf();
    }

    // The push rows (bench/push.ts): at most three samples, each copies the closure five times.
    step("push: nix copy --to storefront and --to unix://<nix-daemon>, into empty stores");
    const push = await measurePush(workDir, closure, keyFile, Math.min(samples, 3));

    const results: Results = {
      machine,
      mode,
      samples,
      workers: workers ?? "default",
      closure: {
        paths: closure.paths.length,
        files: closure.files,
        references: packages.reduce((sum, p) => sum + p.references.length, 0),
        narBytes,
        largestNar: Math.max(...sfNars.map((n) => n.narSize)),
        zstdCacheBytes: warm["nginxZstd"]?.bytes ?? 0,
      },
      times,
      narInfoRates,
      narCacheFilesystem,
      memory: { idle, peaks: memoryPeaks },
      floor: { times: floorTimes, generation },
      zstd: {
        encodings: zstdEncodings,
        storefrontFirstBytes: zstdWire.storefrontFirst,
        storefrontRepeatBytes: zstdWire.storefrontRepeat,
        nginxBytes: zstdWire.nginx,
        narCacheBytes: cacheBytes,
      },
      warmup: Object.fromEntries(Object.entries(warm).map(([k, v]) => [k, v.seconds])),
      profile,
      push,
    };
    writeFileSync(join(workDir, "results.json"), JSON.stringify(results, null, 1));
    writeReport(results);
  } finally {
    for (const server of [...servers].reverse()) await server.stop();
  }
}

// Ctrl-C: exit through process.exit, so that the servers' exit hooks stop them.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
await main();
