// What the `storefront` executable (src/bin.js) runs once it knows that Node is recent enough.
// It turns on Node's compile cache before the first TypeScript file
// is loaded; for `serve`, it then starts over once with the memory settings that Node and glibc
// read only when a process starts, and with every source compiled; then it runs main().
//
// Why plain JavaScript: Node strips a .ts file's types with a WebAssembly build of swc that,
// once loaded, holds about 17 MiB for the life of the process (measured: a worker at 80 MiB
// VmRSS with the cache, 100 MiB without). With the cache, sources that are unchanged since the
// last run are read already stripped and compiled, and swc is never loaded. Every worker of a
// cluster is a process of its own, so this is paid, or saved, once per worker.
//
// The cache is private to the user that runs storefront: what is in it runs as that user, so a
// directory that someone else could write to (Node's default is under /tmp) must not be used.
// Where no such directory can be made, storefront runs without the cache.

import { mkdirSync, readdirSync } from "node:fs";
import { enableCompileCache, flushCompileCache, getCompileCacheDir } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/**
 * What a serving process runs with, unless the operator chose otherwise (measured on the
 * benchmark closure, one process, peak VmRSS during 16 concurrent downloads):
 * - V8's young generation may grow to 16 MiB per semi-space; a server's young objects are small
 *   (request state: NAR bytes live outside the heap): 111-116 MiB with 16, 99-101 MiB with 2.
 *   4 costs a few MiB more than 2 and halves the scavenges of node:http's per-request garbage
 *   (~9 KiB a request): narinfo round trips 6-7 % shorter in A/Bs of warmed servers.
 * - glibc gives each thread that allocates (libuv's pool, where zstd compresses) an arena of
 *   its own and keeps what is freed there: after a zstd pass, 125 MiB with two arenas, 100 MiB
 *   with one, whose first downloads with zstd were no slower (16 s against 19 s a pass).
 * - glibc serves a request of MALLOC_MMAP_THRESHOLD_ bytes or more with a mapping of its own,
 *   returned to the system when freed. Its default (128 KiB) rises after the first such free to
 *   the size freed, up to 32 MiB: after one 512 KiB NAR chunk or zstd context, the next ones
 *   and every 64 KiB encoder buffer land in the main heap, where 300 slow readers' streams left
 *   about 50 MiB fragmented that glibc never gave back (Node cannot call malloc_trim). Fixed at
 *   64 KiB (a fixed value turns the rise off), those go back when freed: 10 s after 300 slow
 *   zstd readers left, idle + 28 MiB -> idle + 9 MiB (128 KiB fixed left the 64 KiB buffers in
 *   the heap: idle + 42 MiB). Smaller allocations still come from the heap.
 * Workers of a cluster inherit all three from the primary.
 */
function servingSettings() {
  const nodeOptions = process.env.NODE_OPTIONS ?? "";
  const flags = [process.execArgv.join(" "), nodeOptions].some((f) =>
    f.includes("--max-semi-space-size"),
  )
    ? []
    : ["--max-semi-space-size=4"];
  const env = {};
  if (process.env.MALLOC_ARENA_MAX === undefined) env.MALLOC_ARENA_MAX = "1";
  if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined) env.MALLOC_MMAP_THRESHOLD_ = "65536";
  return { flags, env };
}

/** `$CACHE_DIRECTORY` (systemd's CacheDirectory=), else the user's XDG cache directory. */
function compileCacheDirectory() {
  const systemd = process.env.CACHE_DIRECTORY?.split(":")[0];
  if (systemd) return join(systemd, "node-compile-cache");
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "storefront", "node-compile-cache");
}

if (!process.env.NODE_DISABLE_COMPILE_CACHE) {
  try {
    const directory = compileCacheDirectory();
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    enableCompileCache(directory);
  } catch {
    // No home directory, or a read-only one: start as fast, only without the cache.
  }
}

/** Files in the compile cache, as a measure of what this process has compiled and written. */
function compileCacheEntries() {
  const directory = getCompileCacheDir();
  if (directory === undefined) return 0;
  try {
    return readdirSync(directory, { recursive: true }).length;
  } catch {
    return 0;
  }
}

/** Replaces this process with the same command (same pid), with `flags` and `env` added. */
function startOver(flags, env) {
  const { execPath } = process;
  const args = [execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(execPath, args, { ...process.env, ...env });
  } catch {
    // Not possible here: serve as we are.
  }
}

// `serve` starts over (same pid) where the process that serves would otherwise lack something:
// - the memory settings, at once, before any source is loaded: the new process has them;
// - its sources compiled (a first start, or the first after an upgrade): having loaded what
//   serving runs and written the compile cache at once, it starts over, marked in the
//   environment so that it does so only once, and the new process reads every source compiled
//   and never loads the type stripper. From a warm cache the modules loaded here are the ones
//   that serve, so a start loads them once.
//
// Node's `execve` keeps the pid but closes every descriptor past stderr, so not with sockets
// passed by systemd (LISTEN_FDS; there the unit or wrapper sets the memory settings, as the
// flake's wrapper does), and not in a cluster worker, whose channel to the primary is such a
// descriptor (it inherits the settings and reads the cache its primary wrote).
const keepsDescriptors = process.env.LISTEN_FDS !== undefined || process.send !== undefined;
if (process.argv[2] === "serve" && !keepsDescriptors && typeof process.execve === "function") {
  const { flags, env } = servingSettings();
  if (flags.length > 0 || Object.keys(env).length > 0) startOver(flags, env);
  if (process.env.STOREFRONT_EXECED === undefined) {
    const cached = compileCacheEntries();
    await import("./main.ts");
    await import("./daemon/serving.ts");
    await import("./daemon/serving-thread-main.ts");
    flushCompileCache();
    if (compileCacheEntries() > cached) startOver([], { STOREFRONT_EXECED: "1" });
  }
}

const { main } = await import("./main.ts");
await main(process.argv.slice(2));
