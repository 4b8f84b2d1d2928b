#!/usr/bin/env node
// The `storefront` executable. It turns on Node's compile cache before the first TypeScript
// file is loaded, then runs src/main.ts.
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

import { mkdirSync } from "node:fs";
import { enableCompileCache } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";

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

await import("./main.ts");
