// The first-download row alone: every NAR of the closure once, plain, one connection, from a
// storefront started afresh on an empty NAR cache on disk (each store path walked and its
// layout recorded), against nginx serving the static cache, back to back in each sample.
//
//   npx node bench/first-download.ts [--quick] [--samples N] [--work DIR] [--profile]
//
// The closure and the static cache are the ones `npm run bench` builds (reused when built).
// `--work` must be on a real disk, not tmpfs: writing the layouts is part of what is measured.
// To measure an older commit, copy this file into a `git archive` of it and run it there.

import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { buildClosure, staticCache } from "./closure.ts";
import { loadNarRefs, narPass, type Target } from "./measure.ts";
import { describePackages, installedPackages, pickPackages } from "./packages.ts";
import { summariseProfiles } from "./profile.ts";
import { startNginx, startStorefront } from "./servers.ts";
import { execFileSync } from "node:child_process";

const BENCH_DIR = new URL(".", import.meta.url).pathname;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    samples: { type: "string", default: "5" },
    work: { type: "string" },
    profile: { type: "boolean", default: false },
  },
  strict: true,
});

const mode = flags.quick ? "quick" : "full";
const samples = Number(flags.samples);
if (!Number.isInteger(samples) || samples < 1) throw new Error("--samples must be >= 1");
const workDir = join(resolve(flags.work ?? join(BENCH_DIR, "work")), mode);

function step(message: string): void {
  process.stderr.write(`first-download: ${message}\n`);
}

/** CPU seconds (user + system) of a process's main thread and of all its threads. */
function cpuSeconds(pid: number): { main: number; all: number } {
  const ticks = (stat: string): number => {
    // Fields after the command's closing paren: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  };
  let all = 0;
  let main = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const used = ticks(readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8"));
      all += used;
      if (task === String(pid)) main = used;
    } catch {
      // A thread that ended meanwhile.
    }
  }
  // USER_HZ is 100 on Linux.
  return { main: main / 100, all: all / 100 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const packages = describePackages(pickPackages(installedPackages(), mode));
  step(`closure: ${packages.length} packages (built once, then reused)`);
  const closure = buildClosure(workDir, packages);
  const noneCache = staticCache(workDir, closure, "none");
  const hashes = closure.paths.map((p) => p.slice("/nix/store/".length, "/nix/store/".length + 32));
  const keyFile = join(workDir, "bench-key.secret");
  if (!existsSync(keyFile)) {
    execFileSync("nix-store", [
      "--generate-binary-cache-key",
      "storefront-bench-1",
      keyFile,
      join(workDir, "bench-key.public"),
    ]);
  }
  const cacheDirectory = join(workDir, "first-download-cache");
  const narCache = join(cacheDirectory, "nars");
  const profiles = join(workDir, "first-download-profiles");
  rmSync(profiles, { recursive: true, force: true });

  const nginx = await startNginx(join(workDir, "nginx-first"), { none: noneCache });
  try {
    const nginxUrl = nginx.urls["none"] ?? "";
    const nginxTarget: Target = {
      name: "nginx",
      base: nginxUrl,
      nars: await loadNarRefs(nginxUrl, hashes),
      headers: {},
    };
    const narBytes = nginxTarget.nars.reduce((sum, nar) => sum + nar.narSize, 0);
    step(`${nginxTarget.nars.length} NARs, ${(narBytes / 2 ** 20).toFixed(0)} MiB`);
    await narPass(nginxTarget, 1); // the static cache into the page cache
    const rows: { storefront: number; nginx: number; main: number; all: number }[] = [];
    for (let sample = 0; sample < samples; sample++) {
      rmSync(narCache, { recursive: true, force: true });
      const nodeFlags = flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`] : [];
      const storefront = await startStorefront({
        dir: workDir,
        storeRoot: closure.root,
        keyFile,
        cacheDirectory,
        nodeFlags,
      });
      let sfSeconds = 0;
      let nginxSeconds = 0;
      let cpu = { main: 0, all: 0 };
      try {
        // The narinfos are not what is measured: learnt before the timed pass.
        const target: Target = {
          name: "storefront",
          base: storefront.url,
          nars: await loadNarRefs(storefront.url, hashes),
          headers: {},
        };
        const order = sample % 2 === 0 ? ["storefront", "nginx"] : ["nginx", "storefront"];
        for (const who of order) {
          const before = cpuSeconds(storefront.pid);
          const pass = await narPass(who === "storefront" ? target : nginxTarget, 1);
          if (pass.bytes !== narBytes) throw new Error(`${who}: ${pass.bytes} of ${narBytes}`);
          if (who === "storefront") {
            sfSeconds = pass.seconds;
            const after = cpuSeconds(storefront.pid);
            cpu = { main: after.main - before.main, all: after.all - before.all };
          } else {
            nginxSeconds = pass.seconds;
          }
        }
        // Layouts still being put in place belong to this sample, not the next one.
        await sleep(1000);
      } finally {
        await storefront.stop();
      }
      const layouts = existsSync(narCache)
        ? readdirSync(narCache).filter((n) => n.endsWith(".layout")).length
        : 0;
      rows.push({ storefront: sfSeconds, nginx: nginxSeconds, ...cpu });
      step(
        `sample ${sample + 1}: storefront ${sfSeconds.toFixed(3)} s, nginx ${nginxSeconds.toFixed(3)} s, ` +
          `ratio ${(sfSeconds / nginxSeconds).toFixed(2)}, layouts ${layouts}; storefront CPU: ` +
          `main thread ${cpu.main.toFixed(2)} s, all threads ${cpu.all.toFixed(2)} s`,
      );
    }
    const ratios = rows.map((r) => r.storefront / r.nginx);
    process.stdout.write(
      `first download, c1, fresh server, empty NAR cache (${samples} samples, medians):\n` +
        `  storefront ${median(rows.map((r) => r.storefront)).toFixed(3)} s, ` +
        `nginx ${median(rows.map((r) => r.nginx)).toFixed(3)} s, ` +
        `ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}); ` +
        `CPU: main thread ${median(rows.map((r) => r.main)).toFixed(2)} s, ` +
        `all threads ${median(rows.map((r) => r.all)).toFixed(2)} s\n`,
    );
    if (flags.profile) {
      const summary = summariseProfiles(profiles, 25);
      process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
    }
  } finally {
    await nginx.server.stop();
  }
}

await main();
