// NAR layouts: the format read back as written and refused when anything is off, and NARs
// served from layouts byte for byte as `nix-store --dump` makes them, for every kind of span.

import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FOOTER_BYTES,
  decodeLayoutFooter,
  decodeLayoutTable,
  encodeLayoutTrailer,
  type LayoutSpan,
  type NarLayout,
} from "../../src/core/nix/nar-layout.ts";
import { narHashDigest } from "../../src/core/nix/path-info.ts";
import { parseStoreHash } from "../../src/core/nix/store-path.ts";
import { StorefrontError } from "../../src/errors.ts";
import { createLogger } from "../../src/log.ts";
import { CacheDirectory } from "../../src/store/nar-cache/cache-directory.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import { NarLayoutCache } from "../../src/store/nar-cache/layout-cache.ts";
import { validPathOnDisk } from "../../src/store/nar/valid-path.ts";
import { wholeNar, type NarSource } from "../../src/store/whole-nar.ts";
import { collect } from "../support/chunks.ts";
import { hasNix, hashOf, makeTestStore, nixBuild, type TestStore } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

/** The layout's table and footer as read from an entry of `inlineBytes` + trailer bytes. */
function decode(trailer: Buffer, inlineBytes: number): NarLayout | undefined {
  const fileSize = inlineBytes + trailer.length;
  const footer = decodeLayoutFooter(trailer.subarray(trailer.length - FOOTER_BYTES), fileSize);
  if (footer === undefined) return undefined;
  return decodeLayoutTable(trailer.subarray(0, trailer.length - FOOTER_BYTES), footer);
}

describe("NAR layout format", () => {
  const span = (narOffset: number, length: number, path: string | Buffer): LayoutSpan => ({
    narOffset,
    length,
    path: Buffer.from(path),
  });
  const layout = (spans: LayoutSpan[], inlineBytes = 500): NarLayout => ({
    narSize: inlineBytes + spans.reduce((sum, s) => sum + s.length, 0),
    inlineBytes,
    spans,
  });

  it("reads back what it wrote, names as bytes", () => {
    const written = layout([
      span(96, 70_000, "a/b/c"),
      span(70_200, 100_000, Buffer.from([0x63, 0x61, 0x66, 0xe9])),
    ]);
    expect(decode(encodeLayoutTrailer(written), 500)).toEqual(written);
    const single = layout([span(120, 1_000_000, "")], 200);
    expect(decode(encodeLayoutTrailer(single), 200)).toEqual(single);
    const none = layout([], 4096);
    expect(decode(encodeLayoutTrailer(none), 4096)).toEqual(none);
  });

  it.each(["..", "a/../b", "a/..", ".", "./a", "/etc/passwd", "a//b", "a/", "a\0b"])(
    "refuses the path %j",
    (path) => {
      expect(decode(encodeLayoutTrailer(layout([span(96, 70_000, path)])), 500)).toBeUndefined();
    },
  );

  it("refuses spans out of order, overlapping, empty or past the end", () => {
    const bad = [
      [span(300, 70_000, "b"), span(100, 70_000, "a")],
      [span(100, 70_000, "a"), span(70_000, 70_000, "b")],
      [span(100, 0, "a")],
    ];
    for (const spans of bad)
      expect(decode(encodeLayoutTrailer(layout(spans)), 500)).toBeUndefined();
    const past = { narSize: 600, inlineBytes: 500, spans: [span(550, 100, "a")] };
    expect(decode(encodeLayoutTrailer(past), 500)).toBeUndefined();
  });

  it("refuses a layout whose sizes do not add up, and a footer not ours", () => {
    const good = layout([span(96, 70_000, "a")]);
    expect(decode(encodeLayoutTrailer({ ...good, narSize: good.narSize + 1 }), 500)).toBe(
      undefined,
    );
    const trailer = encodeLayoutTrailer(good);
    expect(decode(trailer, 499)).toBeUndefined(); // the file is not the size the footer says
    const foreign = Buffer.from(trailer);
    foreign.write("SFNARZ01", foreign.length - FOOTER_BYTES);
    expect(decode(foreign, 500)).toBeUndefined();
  });
});

describe.skipIf(!hasNix)("NARs from their layouts", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let database: StoreDatabase;
  let cacheDir: string;
  let layouts: NarLayoutCache;
  const warnings: string[] = [];

  beforeAll(() => {
    store = makeTestStore();
    paths = new Map([
      ...nixBuild(store, join(FIXTURES, "layout.nix"), ["spans", "small", "longPaths"]),
      ...nixBuild(store, join(FIXTURES, "store.nix"), ["tree", "topFile"]),
    ]);
    database = new StoreDatabase(store.dbPath, "/nix/store");
    cacheDir = tempDir("storefront-layouts-");
    const log = createLogger((line) => warnings.push(line));
    const directory = CacheDirectory.open({ enable: true, path: cacheDir, max_size: 1 << 30 }, log);
    if (directory === undefined) throw new Error("no cache directory");
    layouts = new NarLayoutCache(directory);
  });
  afterAll(() => {
    database.close();
    store.remove();
  });

  /** What wholeNar needs for a store path, served from `realPath` (its own, by default). */
  function source(name: string, realPath?: string): NarSource {
    const storePath = paths.get(name) ?? "";
    const hash = parseStoreHash(hashOf(storePath));
    if (hash === undefined) throw new Error(`${name} is not in the store`);
    const dirs = { virtual: "/nix/store", real: store.realStoreDir };
    const { info, assertUnchanged } = validPathOnDisk(database, dirs, hash);
    const path = realPath ?? store.realPath(storePath);
    return {
      narHash32: narHashDigest(info.narHash),
      narSize: info.narSize,
      realPath: path,
      stats: lstatSync(path),
      assertUnchanged,
    };
  }
  const entryOf = (from: NarSource): string => join(cacheDir, `${from.narHash32}.layout`);
  const dump = (name: string): Buffer =>
    execFileSync("nix-store", ["--dump", store.realPath(paths.get(name) ?? "")], {
      maxBuffer: 1 << 30,
    });

  /** Downloads the NAR once, so that its layout is recorded. */
  async function recordLayout(from: NarSource): Promise<void> {
    await collect(wholeNar(layouts, from));
    await waitFor(() => existsSync(entryOf(from)), "the layout entry");
  }

  it.each(["spans", "small", "longPaths", "tree"])(
    "%s: walked and recorded, then read from its layout, byte for byte",
    async (name) => {
      const from = source(name);
      const expected = dump(name);
      expect((await collect(wholeNar(layouts, from))).equals(expected)).toBe(true);
      await waitFor(() => existsSync(entryOf(from)), "the layout entry");
      const hits = layouts.hits;
      expect((await collect(wholeNar(layouts, from))).equals(expected)).toBe(true);
      expect(layouts.hits).toBe(hits + 1);
    },
  );

  it("keeps the large files out of the layout, and the small ones in", async () => {
    const from = source("spans");
    await recordLayout(from);
    const large = 65_537 + 300_000 + 70_000 + 200_000 + 100_000 + 1_200_000;
    const size = statSync(entryOf(from)).size;
    expect(size).toBeGreaterThan(from.narSize - large);
    expect(size).toBeLessThan(from.narSize - large + 1024);
  });

  it("walks a path that is one file, and keeps no layout for it", async () => {
    const from = source("topFile");
    expect((await collect(wholeNar(layouts, from))).equals(dump("topFile"))).toBe(true);
    expect(existsSync(entryOf(from))).toBe(false);
  });

  it("removes a damaged layout and walks the path again", async () => {
    const from = source("spans");
    await recordLayout(from);
    truncateSync(entryOf(from), statSync(entryOf(from)).size - 1);
    expect((await collect(wholeNar(layouts, from))).equals(dump("spans"))).toBe(true);
    expect(warnings.join("")).toContain("removing a damaged NAR layout");
    // Recorded again by that walk.
    await waitFor(() => existsSync(entryOf(from)), "the layout entry, again");
  });

  it("fails as a changed store when a large file is gone or not the file it was", async () => {
    const from = source("spans");
    await recordLayout(from);
    // A copy of the path stands for the store path, so that the store itself stays intact.
    const copy = join(tempDir("storefront-layout-copy-"), "spans");
    execFileSync("cp", ["-a", from.realPath, copy]);
    execFileSync("chmod", ["-R", "u+w", copy]);
    const changed = { ...from, realPath: copy, stats: lstatSync(copy) };
    expect((await collect(wholeNar(layouts, changed))).equals(dump("spans"))).toBe(true);

    truncateSync(join(copy, "a/b/c/deep"), 299_999);
    await expect(collect(wholeNar(layouts, changed))).rejects.toThrow(StorefrontError);
    unlinkSync(join(copy, "a/b/c/deep"));
    const gone = await collect(wholeNar(layouts, changed)).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(StorefrontError);
    expect((gone as StorefrontError).code).toBe("store_changed");
  });

  it("opens and records nothing for a stream dropped before its first chunk", () => {
    const openFiles = (): number => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    for (const name of ["spans", "small"]) {
      const nar = wholeNar(layouts, source(name));
      nar.return(undefined);
    }
    expect(openFiles()).toBe(before);
    expect(readdirSync(cacheDir).filter((file) => file.startsWith(".tmp-"))).toEqual([]);
  });

  it("closes its files when the reader stops early", async () => {
    const from = source("spans");
    await recordLayout(from);
    const openFiles = (): number => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    const nar = wholeNar(layouts, from);
    for (const chunk of nar) {
      expect(chunk.length).toBeGreaterThan(0);
      break; // the client went away
    }
    expect(openFiles()).toBe(before);
  });
});
