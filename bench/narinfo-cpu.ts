// CPU time storefront spends per narinfo request (user and system, from /proc), under wrk at
// 25 connections: a figure that a busy, shared machine disturbs far less than wall-clock time.
//
//   node bench/narinfo-cpu.ts --work bench/work/full [--seconds 10] [--samples 3]

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { narInfoAll } from "./measure.ts";
import { startStorefront } from "./servers.ts";

const { values: flags, positionals: nodeFlags } = parseArgs({
  allowPositionals: true,
  options: {
    work: { type: "string" },
    seconds: { type: "string", default: "10" },
    samples: { type: "string", default: "3" },
  },
  strict: true,
});
const work = flags.work ?? "bench/work/full";
const hashes = readdirSync(join(work, "caches", "none"))
  .filter((name) => name.endsWith(".narinfo"))
  .map((name) => name.slice(0, 32));
// A scratch dir of its own that persists, so that Node's compile cache is warm after one run.
const scratch = join(work, "narinfo-cpu");
mkdirSync(scratch, { recursive: true });
const wrkScript = join(scratch, "paths.lua");
writeFileSync(
  wrkScript,
  `local paths = {${hashes.map((hash) => `"/${hash}.narinfo"`).join(",")}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(nil, paths[i])\nend\n`,
);
const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const cpu = (pid: number): { user: number; system: number } => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return { user: Number(fields[11]) / ticks, system: Number(fields[12]) / ticks };
};
/** CPU time of every thread of `pid` (JIT compilers included), in ns-resolution seconds. */
const threadsCpu = (pid: number): number =>
  readdirSync(`/proc/${pid}/task`).reduce((sum, task) => {
    try {
      return (
        sum +
        Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) / 1e9
      );
    } catch {
      return sum;
    }
  }, 0);
for (let sample = 0; sample < Number(flags.samples); sample++) {
  const sf = await startStorefront({
    dir: scratch,
    storeRoot: join(work, "store"),
    keyFile: join(work, "bench-key.secret"),
    cacheDirectory: join(scratch, "cache"),
    nodeFlags,
  });
  try {
    const started = cpu(sf.pid);
    const rss = /VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${sf.pid}/status`, "utf8"))?.[1];
    const passes: string[] = [];
    const walls: string[] = [];
    let last = threadsCpu(sf.pid);
    for (let pass = 0; pass < 6; pass++) {
      walls.push(((await narInfoAll(sf.url, hashes)).seconds * 1000).toFixed(1));
      const now = threadsCpu(sf.pid);
      passes.push(((now - last) * 1000).toFixed(1));
      last = now;
    }
    const before = cpu(sf.pid);
    const out = execFileSync(
      "wrk",
      ["-t2", "-c25", `-d${flags.seconds}s`, "-s", wrkScript, sf.url],
      { encoding: "utf8" },
    );
    const after = cpu(sf.pid);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    const us = (seconds: number): string => ((seconds / requests) * 1e6).toFixed(1);
    process.stdout.write(
      `start to ready ${(started.user + started.system).toFixed(2)} s CPU, VmRSS ${Math.round(Number(rss) / 1024)} MiB; passes ${passes.join(" ")} ms CPU (wall ${walls.join(" ")} ms); ` +
        `c25: ${requests} requests, ${us(after.user - before.user)} µs user + ${us(after.system - before.system)} µs system per request, ${/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1]} req/s\n`,
    );
  } finally {
    await sf.stop();
  }
}
