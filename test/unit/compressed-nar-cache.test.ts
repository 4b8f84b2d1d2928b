// The cache of compressed NARs on its own: entries whole or absent, LRU eviction, a restart
// that finds what is there, damaged files never served.

import { readdirSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import type { NarCacheConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/log.ts";
import { CacheDirectory } from "../../src/store/nar-cache/cache-directory.ts";
import {
  CompressedNarCache,
  HEADER_BYTES,
} from "../../src/store/nar-cache/compressed-nar-cache.ts";

const LEVEL = 3;
const hash = (letter: string): string => letter.repeat(52);

async function put(cache: CompressedNarCache, narHash: string, bytes: Buffer): Promise<void> {
  const writer = await cache.startWrite(narHash, 4242);
  if (writer === undefined) throw new Error("no writer");
  await pipeline(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), writer.tee(), sink());
  await writer.commit();
}

function sink(): Writable {
  return new Writable({
    write: (_chunk, _encoding, callback) => {
      callback();
    },
  });
}

/** The directory each cache of a test was opened on, for its size and entry count. */
const directories = new Map<CompressedNarCache, CacheDirectory>();

function directoryOf(cache: CompressedNarCache): CacheDirectory {
  const directory = directories.get(cache);
  if (directory === undefined) throw new Error("not opened by openCache");
  return directory;
}

function read(cache: CompressedNarCache, narHash: string): Buffer | undefined {
  const cached = cache.open(narHash, 4242);
  if (cached === undefined) return undefined;
  const parts: Buffer[] = [];
  for (const chunk of cached.body) parts.push(chunk);
  const bytes = Buffer.concat(parts);
  expect(bytes.length).toBe(cached.length);
  return bytes;
}

describe("CompressedNarCache", () => {
  let dir: string;
  let warnings: string[];
  const log = createLogger((line) => warnings.push(line));
  const config = (max_size: number): NarCacheConfig => ({ enable: true, path: dir, max_size });
  const openCache = (settings: NarCacheConfig, level = LEVEL): CompressedNarCache => {
    const directory = CacheDirectory.open(settings, log);
    if (directory === undefined) throw new Error("no cache directory");
    const cache = new CompressedNarCache(directory, level);
    directories.set(cache, directory);
    return cache;
  };
  const files = (): string[] => readdirSync(dir).sort();

  beforeEach(() => {
    dir = tempDir("storefront-narcache-");
    warnings = [];
  });

  it("keeps an entry once committed, and serves it with its length", async () => {
    const cache = openCache(config(1 << 20));
    expect(read(cache, hash("a"))).toBeUndefined();
    await put(cache, hash("a"), Buffer.alloc(1000, 1));
    expect(files()).toEqual([`${hash("a")}.3.zst`]);
    expect(read(cache, hash("a"))).toEqual(Buffer.alloc(1000, 1));
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    const directory = directoryOf(cache);
    expect([directory.entries, directory.size]).toEqual([1, 1000 + HEADER_BYTES]);
  });

  it("serves a large entry in chunks, byte for byte", async () => {
    const cache = openCache(config(8 << 20));
    const bytes = randomBytes(1_300_000);
    await put(cache, hash("a"), bytes);
    const cached = cache.open(hash("a"), 4242);
    const parts: Buffer[] = [];
    for (const chunk of cached?.body ?? []) parts.push(Buffer.from(chunk));
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it("closes a large entry's file when the reader stops early", async () => {
    const cache = openCache(config(8 << 20));
    await put(cache, hash("a"), randomBytes(1_300_000));
    const openFiles = (): number => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    const cached = cache.open(hash("a"), 4242);
    expect(openFiles()).toBe(before + 1);
    for (const chunk of cached?.body ?? []) {
      expect(chunk.length).toBeGreaterThan(0);
      break; // the client went away
    }
    expect(openFiles()).toBe(before);
  });

  it("leaves nothing behind for an aborted write", async () => {
    const cache = openCache(config(1 << 20));
    const writer = await cache.startWrite(hash("a"), 4242);
    expect(files()).toHaveLength(1); // the temporary file
    await writer?.abort();
    expect(files()).toEqual([]);
    expect(cache.open(hash("a"), 4242)).toBeUndefined();
  });

  it("does not keep an entry larger than the whole cache", async () => {
    const cache = openCache(config(500));
    await put(cache, hash("a"), Buffer.alloc(1000));
    expect(files()).toEqual([]);
  });

  it("evicts the least recently used entries when over max_size", async () => {
    const entry = 1000 + HEADER_BYTES;
    const cache = openCache(config(3 * entry));
    for (const letter of "abc") await put(cache, hash(letter), Buffer.alloc(1000));
    read(cache, hash("a")); // a is now the most recent
    await put(cache, hash("d"), Buffer.alloc(1000));
    expect(files()).toEqual(["a", "c", "d"].map((l) => `${hash(l)}.3.zst`));
    expect(directoryOf(cache).size).toBe(3 * entry);
  });

  it("rebuilds its index from the directory at start, oldest use first", async () => {
    const entry = 1000 + HEADER_BYTES;
    const first = openCache(config(3 * entry));
    for (const letter of "abc") await put(first, hash(letter), Buffer.alloc(1000));
    // b was used longest ago, then c, then a.
    const at = (seconds: number): Date => new Date(1_700_000_000_000 + seconds * 1000);
    utimesSync(join(dir, `${hash("b")}.3.zst`), at(1), at(1));
    utimesSync(join(dir, `${hash("c")}.3.zst`), at(2), at(2));
    utimesSync(join(dir, `${hash("a")}.3.zst`), at(3), at(3));
    writeFileSync(join(dir, ".tmp-stale"), "x");
    utimesSync(join(dir, ".tmp-stale"), at(0), at(0));
    writeFileSync(join(dir, ".tmp-in-progress"), "x");

    const second = openCache(config(3 * entry));
    const directory = directoryOf(second);
    expect([directory.entries, directory.size]).toEqual([3, 3 * entry]);
    await put(second, hash("d"), Buffer.alloc(1000));
    expect(files()).toEqual([
      ".tmp-in-progress",
      ...["a", "c", "d"].map((l) => `${hash(l)}.3.zst`),
    ]);
  });

  it("never serves a damaged entry, and removes it", async () => {
    const cache = openCache(config(1 << 20));
    await put(cache, hash("a"), Buffer.alloc(1000, 7));
    await put(cache, hash("b"), Buffer.alloc(1000, 7));
    truncateSync(join(dir, `${hash("a")}.3.zst`), HEADER_BYTES + 999);
    writeFileSync(join(dir, `${hash("b")}.3.zst`), Buffer.alloc(HEADER_BYTES + 1000));
    expect(read(cache, hash("a"))).toBeUndefined();
    expect(read(cache, hash("b"))).toBeUndefined();
    expect(files()).toEqual([]);
    expect(warnings.join("")).toContain("removing a damaged compressed NAR");
  });

  it("does not serve an entry made for another NAR size", async () => {
    const cache = openCache(config(1 << 20));
    await put(cache, hash("a"), Buffer.alloc(1000));
    expect(cache.open(hash("a"), 4243)).toBeUndefined();
  });

  it("keeps entries of other zstd levels apart", async () => {
    const three = openCache(config(1 << 20), 3);
    const nine = openCache(config(1 << 20), 9);
    await put(three, hash("a"), Buffer.alloc(1000));
    expect(read(nine, hash("a"))).toBeUndefined();
  });

  it("writes one NAR once in a process; two processes racing leave one whole entry", async () => {
    const cache = openCache(config(1 << 20));
    const other = openCache(config(1 << 20)); // another worker
    const writer = await cache.startWrite(hash("a"), 4242);
    expect(await cache.startWrite(hash("a"), 4242)).toBeUndefined();
    await writer?.abort();
    await Promise.all([
      put(cache, hash("a"), Buffer.alloc(5000, 1)),
      put(other, hash("a"), Buffer.alloc(5000, 1)),
    ]);
    expect(files()).toEqual([`${hash("a")}.3.zst`]);
    expect(read(cache, hash("a"))).toEqual(Buffer.alloc(5000, 1));
    expect(read(other, hash("a"))).toEqual(Buffer.alloc(5000, 1));
  });

  it("runs without a cache, with a warning, when the directory cannot be made", () => {
    writeFileSync(join(dir, "a-file"), "");
    const directory = CacheDirectory.open(
      { enable: true, path: join(dir, "a-file", "nars"), max_size: 1 << 20 },
      log,
    );
    expect(directory).toBeUndefined();
    expect(warnings.join("")).toMatch(/^warn running without the NAR cache.*code=ENOTDIR/);
  });

  it("is off when disabled", () => {
    expect(CacheDirectory.open({ enable: false, path: dir, max_size: 1 }, log)).toBeUndefined();
  });
});
