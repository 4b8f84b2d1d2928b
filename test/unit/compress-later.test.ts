// Compressed-cache entries made in the background (http/compress-later.ts): an entry is kept
// only from a read of the NAR that completed and was checked, as one made during a download.

import { lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { StorefrontError } from "../../src/errors.ts";
import { compressLater, compressedLaterIdle } from "../../src/http/compress-later.ts";
import { createLogger } from "../../src/log.ts";
import type { ValidPathOnDisk } from "../../src/store/nar/valid-path.ts";
import { CacheDirectory } from "../../src/store/nar-cache/cache-directory.ts";
import { CompressedNarCache } from "../../src/store/nar-cache/compressed-nar-cache.ts";
import { NarLayoutCache } from "../../src/store/nar-cache/layout-cache.ts";
import { narStream } from "../../src/store/nar/nar-stream.ts";
import { narSizeOf } from "../support/nar-size.ts";

/** A NAR string: its length, its bytes, zeros to a multiple of 8. */
function narString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}

/** The NAR of a regular, non-executable file holding `contents`. */
function fileNar(contents: Buffer): Buffer {
  const words = ["nix-archive-1", "(", "type", "regular", "contents"];
  return Buffer.concat([
    ...words.map((word) => narString(Buffer.from(word))),
    narString(contents),
    narString(Buffer.from(")")),
  ]);
}

describe("compressLater", () => {
  let dir: string;
  let cache: CompressedNarCache;
  let layouts: NarLayoutCache;
  const log = createLogger(() => undefined);
  const settings = { enable_compression: true, zstd: { level: 3 } };
  const entries = (): string[] =>
    readdirSync(join(dir, "nars")).filter((name) => name.endsWith(".zst"));

  beforeEach(() => {
    dir = tempDir("storefront-compress-later-");
    const directory = CacheDirectory.open(
      { enable: true, path: join(dir, "nars"), max_size: 1 << 30 },
      log,
    );
    if (directory === undefined) throw new Error("no cache directory");
    cache = new CompressedNarCache(directory, 3);
    layouts = new NarLayoutCache(directory);
  });

  /** A store path that is one file, as a download found it; `changed` fails its last check. */
  function pathOf(letter: string, contents: Buffer, changed = false): ValidPathOnDisk {
    const realPath = join(dir, `${letter.repeat(32)}-file`);
    writeFileSync(realPath, contents);
    return {
      info: {
        storePath: `/nix/store/${letter.repeat(32)}-file`,
        narHash: `sha256:${letter.repeat(52)}`,
        narSize: fileNar(contents).length,
        registration: 1,
      },
      baseName: `${letter.repeat(32)}-file`,
      realPath,
      stats: lstatSync(realPath),
      assertUnchanged: () => {
        if (changed) throw new StorefrontError("store_changed", "registered again");
      },
    };
  }

  it("makes the entry of a NAR read whole, and the cache serves it", async () => {
    const contents = Buffer.from("some file contents\n".repeat(500));
    compressLater({ narCache: cache, narLayouts: undefined, log }, pathOf("a", contents), settings);
    await compressedLaterIdle();
    expect(entries()).toEqual([`${"a".repeat(52)}.3.zst`]);
    const cached = cache.open("a".repeat(52), fileNar(contents).length);
    if (cached === undefined) throw new Error("no entry");
    const compressed = Buffer.concat([...cached.body]);
    expect(compressed.length).toBe(cached.length);
    expect(zstdDecompressSync(compressed).equals(fileNar(contents))).toBe(true);
  });

  it("keeps nothing of a store path that changed since its download", async () => {
    const contents = Buffer.from("x".repeat(5000));
    compressLater(
      { narCache: cache, narLayouts: undefined, log },
      pathOf("b", contents, true),
      settings,
    );
    await compressedLaterIdle();
    expect(entries()).toEqual([]);
    // No temporary file left either.
    expect(readdirSync(join(dir, "nars")).filter((name) => name.startsWith(".tmp"))).toEqual([]);
  });

  it("keeps nothing of a walk whose bytes are not the NarHash's", async () => {
    // A directory with no layout yet, so it is walked; registered with a NarHash that is not
    // its bytes', as a path damaged in place would be.
    const baseName = `${"c".repeat(32)}-tree`;
    const realPath = join(dir, baseName);
    mkdirSync(realPath);
    writeFileSync(join(realPath, "large"), Buffer.alloc(1 << 20, "l"));
    writeFileSync(join(realPath, "small"), "small\n");
    const narSize = narSizeOf({ large: 1 << 20, small: 6 });
    expect(Buffer.concat([...narStream(realPath, narSize)]).length).toBe(narSize);
    const path: ValidPathOnDisk = {
      info: {
        storePath: `/nix/store/${baseName}`,
        narHash: `sha256:${"c".repeat(52)}`,
        narSize,
        registration: 1,
      },
      baseName,
      realPath,
      stats: lstatSync(realPath),
      assertUnchanged: () => undefined,
    };
    compressLater({ narCache: cache, narLayouts: layouts, log }, path, settings);
    await compressedLaterIdle();
    // Neither a compressed entry nor a layout, nor a temporary file of either.
    expect(readdirSync(join(dir, "nars"))).toEqual([]);
  });
});
