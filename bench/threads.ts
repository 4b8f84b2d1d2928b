// How storefront uses a machine's cores, and what each way costs in memory: one process with one
// thread, a cluster of processes (`workers = N`), and one process with serving threads
// (`threads = N`), side by side on the benchmark's closure, the three servers running at once and
// taking turns in each sample (the machine is shared: medians, and ratios within a sample).
//
//   node bench/threads.ts                    full closure (built by `npm run bench` or here)
//   node bench/threads.ts --quick --samples 3
//
// Per design: VmRSS and PSS summed over the server's processes after start and after the
// warm-up; per sample: NAR c16 (every NAR once over 16 connections, from the layouts) with the
// peak of the sums during it, and narinfos at 25 connections (wrk, every narinfo in turn, as
// Nix asks them with its 25 `http-connections`) in requests a second.

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { buildClosure } from "./closure.ts";
import { loadNarRefs, narInfoAll, narPass, verifiedPass, type Target } from "./measure.ts";
import { describePackages, installedPackages, pickPackages } from "./packages.ts";
import { processTree, sampleMemory, treeMemory, type TreeMemory } from "./rss.ts";
import { readFileSync } from "node:fs";
import { startStorefront, type RunningServer } from "./servers.ts";
import { summarise } from "./stats.ts";

const median = (values: readonly number[]): number => summarise(values).median;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    samples: { type: "string", default: "5" },
    work: { type: "string" },
    count: { type: "string", default: "2" },
    seconds: { type: "string", default: "5" },
    /** Comma-separated indexes of the designs to run (0 one process, 1 cluster, 2 threads). */
    only: { type: "string" },
  },
  strict: true,
});

const mode = flags.quick ? "quick" : "full";
const workDir = resolve(flags.work ?? join(import.meta.dirname, "work"), mode);
const samples = Number(flags.samples);
const count = Number(flags.count);
const wrkSeconds = Number(flags.seconds);

interface Design {
  readonly name: string;
  readonly workers?: number;
  readonly threads?: number;
  /** Environment for this server alone (e.g. glibc's MALLOC_ARENA_MAX). */
  readonly env?: Readonly<Record<string, string>>;
}

const allDesigns: readonly Design[] = [
  { name: "one process, one thread", workers: 1, threads: 1 },
  { name: `cluster, workers = ${count}`, workers: count },
  { name: `threads = ${count}`, threads: count },
  {
    name: `threads = ${count}, semi-space 2`,
    threads: count,
    env: { NODE_OPTIONS: "--max-semi-space-size=2" },
  },
  {
    name: `threads = ${count}, MALLOC_ARENA_MAX=${count}`,
    threads: count,
    env: { MALLOC_ARENA_MAX: String(count) },
  },
];
const designs =
  flags.only === undefined
    ? allDesigns
    : flags.only.split(",").map((i) => allDesigns[Number(i)] as Design);

function step(message: string): void {
  process.stderr.write(`threads-bench: ${message}\n`);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

/** A wrk script that asks every narinfo in turn, each wrk thread from its own place. */
function wrkScript(hashes: readonly string[]): string {
  const path = join(workDir, "threads-bench-narinfos.lua");
  const list = hashes.map((hash) => `"/${hash}.narinfo"`).join(",\n");
  writeFileSync(
    path,
    `local paths = {\n${list}\n}\nlocal i = math.random(#paths)\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`,
  );
  return path;
}

function wrkRate(base: string, script: string): number {
  const output = execFileSync(
    "wrk",
    ["-t2", "-c25", `-d${wrkSeconds}s`, "-s", script, `${base}/`],
    { encoding: "utf8" },
  );
  const match = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (/Non-2xx/.test(output)) throw new Error(`wrk saw errors from ${base}:\n${output}`);
  if (match === null) throw new Error(`wrk said:\n${output}`);
  return Number(match[1]);
}

/** CPU seconds (user + system) used so far by `pid` and its descendants, every thread. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${member}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended meanwhile
    }
  }
  return ticks / 100;
}

interface Figures {
  idle: TreeMemory;
  warm: TreeMemory;
  narSeconds: number[];
  peakRss: number[];
  peakPss: number[];
  narinfoRate: number[];
  /** Microseconds of the server's CPU per narinfo served during the wrk run. */
  narinfoCpu: number[];
}

async function main(): Promise<void> {
  const packages = describePackages(pickPackages(installedPackages(), mode));
  step(`closure: ${packages.length} packages in ${workDir} (reused if built)`);
  const closure = buildClosure(workDir, packages);
  const hashes = closure.paths.map((p) => p.slice("/nix/store/".length, "/nix/store/".length + 32));
  const keyFile = join(workDir, "bench-key.secret");
  execFileSync("sh", [
    "-c",
    `test -e ${keyFile} || nix-store --generate-binary-cache-key storefront-bench-1 ${keyFile} ${keyFile}.public`,
  ]);
  const script = wrkScript(hashes);

  const servers: RunningServer[] = [];
  const figures = new Map<Design, Figures>();
  const targets = new Map<Design, Target>();
  try {
    for (const design of designs) {
      const dir = join(workDir, "threads-bench", design.name.replace(/[^a-z0-9]+/g, "-"));
      mkdirSync(dir, { recursive: true });
      const saved = { ...process.env };
      Object.assign(process.env, design.env ?? {});
      const server = await startStorefront({
        dir,
        storeRoot: closure.root,
        keyFile,
        cacheDirectory: join(dir, "cache"),
        nodeFlags: [],
        workers: design.workers,
        threads: design.threads,
      });
      process.env = saved;
      servers.push(server);
      await sleep(2000); // workers and threads may still be starting when the first answers
      const idle = treeMemory(server.pid);
      step(
        `${design.name}: ${server.url}, ${idle.processes} process(es), idle ${mib(idle.rss)} MiB`,
      );
      const nars = await loadNarRefs(server.url, hashes);
      const target = { name: design.name, base: server.url, nars, headers: {} };
      targets.set(design, target);
      // Every NAR once (layouts recorded), then every narinfo over several connections.
      await verifiedPass(target, 4);
      for (let i = 0; i < 4; i++) await narInfoAll(server.url, hashes);
      wrkRate(server.url, script);
      await narPass(target, 16);
      await sleep(2000);
      figures.set(design, {
        idle,
        warm: treeMemory(server.pid),
        narSeconds: [],
        peakRss: [],
        peakPss: [],
        narinfoRate: [],
        narinfoCpu: [],
      });
    }
    for (let sample = 0; sample < samples; sample++) {
      step(`sample ${sample + 1} of ${samples}`);
      const order = designs.map((_, i) => designs[(i + sample) % designs.length] as Design);
      for (const design of order) {
        const target = targets.get(design) as Target;
        const own = figures.get(design) as Figures;
        const server = servers[designs.indexOf(design)] as RunningServer;
        const memory = sampleMemory(server.pid, 20);
        const pass = await narPass(target, 16);
        const peak = memory.stop();
        own.narSeconds.push(pass.seconds);
        own.peakRss.push(peak.rss);
        own.peakPss.push(peak.pss);
        const cpuBefore = cpuSeconds(server.pid);
        const rate = wrkRate(target.base, script);
        own.narinfoRate.push(rate);
        own.narinfoCpu.push(((cpuSeconds(server.pid) - cpuBefore) / (rate * wrkSeconds)) * 1e6);
      }
    }
  } finally {
    for (const server of servers) await server.stop();
  }

  const baseline = figures.get(designs[0] as Design) as Figures;
  const lines = [
    `| design | idle RSS (PSS) MiB | warm RSS (PSS) | peak RSS during NAR c16: median (max) | peak PSS | NAR c16 s | vs one | narinfo c25 req/s | vs one | CPU µs per narinfo |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const design of designs) {
    const f = figures.get(design) as Figures;
    lines.push(
      `| ${design.name} | ${mib(f.idle.rss)} (${mib(f.idle.pss)}) | ${mib(f.warm.rss)} (${mib(f.warm.pss)}) | ${mib(median(f.peakRss))} (${mib(Math.max(...f.peakRss))}) | ${mib(median(f.peakPss))} | ${median(f.narSeconds).toFixed(3)} | ${(median(f.narSeconds) / median(baseline.narSeconds)).toFixed(2)} | ${median(f.narinfoRate).toFixed(0)} | ${(median(f.narinfoRate) / median(baseline.narinfoRate)).toFixed(2)} | ${median(f.narinfoCpu).toFixed(0)} |`,
    );
  }
  const bytes =
    baseline.narSeconds.length > 0 ? (targets.get(designs[0] as Design) as Target) : undefined;
  const total = bytes?.nars.reduce((sum, nar) => sum + nar.narSize, 0) ?? 0;
  process.stdout.write(
    `${closure.paths.length} paths, ${mib(total)} MiB of NAR, ${samples} samples, medians\n\n${lines.join("\n")}\n`,
  );
  for (const design of designs) {
    const f = figures.get(design) as Figures;
    process.stdout.write(
      `${design.name}: NAR c16 s ${f.narSeconds.map((s) => s.toFixed(3)).join(" ")}; peak RSS MiB ${f.peakRss.map(mib).join(" ")}; narinfo req/s ${f.narinfoRate.map((r) => r.toFixed(0)).join(" ")}; CPU µs/narinfo ${f.narinfoCpu.map((r) => r.toFixed(0)).join(" ")}\n`,
    );
  }
}

await main();
