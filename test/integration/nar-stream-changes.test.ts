// A file or directory that changes kind or goes away between the listing of its directory and
// its reading fails the NAR as a changed store (a 404 before the first byte, a cut response
// after), never as an internal error, and is never followed or waited on. A whole NAR whose
// bytes are not its NarHash's (same sizes, other contents) leaves no layout behind: a walk
// that records nothing is cut before its last chunk, one that records is checked on the hash
// thread, and a NAR read from a layout is cut when a large file changed while read.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { closeSync, openSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StorefrontError } from "../../src/errors.ts";
import { encodeNixBase32 } from "../../src/core/nix/nix-base32.ts";
import { createLogger } from "../../src/log.ts";
import { CacheDirectory } from "../../src/store/nar-cache/cache-directory.ts";
import { NarLayoutCache } from "../../src/store/nar-cache/layout-cache.ts";
import { narStream } from "../../src/store/nar/nar-stream.ts";
import { wholeNar, type NarSource } from "../../src/store/whole-nar.ts";
import { narSizeOf, type Tree } from "../support/nar-size.ts";
import { tempDir } from "../support/temp.ts";
import { waitFor } from "../support/wait.ts";

/** A tree whose first file is large (read a chunk at a time: the walk pauses there). */
function treeWithPause(extra: Record<string, Tree> = {}): { root: string; narSize: number } {
  const root = join(tempDir(), "tree");
  mkdirSync(root);
  writeFileSync(join(root, "a-large"), Buffer.alloc(4 << 20, "a"));
  writeFileSync(join(root, "b-small"), "small\n");
  return { root, narSize: narSizeOf({ "a-large": 4 << 20, "b-small": 6, ...extra }) };
}

function consumeAfterChange(chunks: Iterable<Buffer>, change: () => void): unknown {
  try {
    let chunksSeen = 0;
    for (const chunk of chunks) {
      if (chunksSeen === 0) change();
      chunksSeen += chunk.length > 0 ? 1 : 0;
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("a NAR whose files change while it is read", () => {
  for (const [what, change] of [
    [
      "became a symlink",
      (path: string) => {
        symlinkSync("/etc/passwd", path);
      },
    ],
    ["is gone", () => undefined],
    // Opened without O_NONBLOCK, a FIFO would block the event loop until a writer came.
    [
      "became a FIFO",
      (path: string) => {
        execFileSync("mkfifo", [path]);
      },
    ],
  ] as const) {
    it(`fails as a changed store when a listed file ${what}`, () => {
      const { root, narSize } = treeWithPause();
      const later = join(root, "b-small");
      const error = consumeAfterChange(narStream(root, narSize), () => {
        rmSync(later);
        change(later);
      });
      expect(error).toBeInstanceOf(StorefrontError);
      expect((error as StorefrontError).code).toBe("store_changed");
    });
  }

  it("fails as a changed store when a directory is gone before it is listed", () => {
    const { root, narSize } = treeWithPause({ "c-dir": { file: 15 } });
    const later = join(root, "c-dir");
    mkdirSync(later);
    writeFileSync(join(later, "file"), "in a directory\n");
    const error = consumeAfterChange(narStream(root, narSize), () => {
      rmSync(later, { recursive: true });
    });
    expect(error).toBeInstanceOf(StorefrontError);
    expect((error as StorefrontError).code).toBe("store_changed");
  });
});

describe("a whole NAR whose bytes are not its NarHash's", () => {
  /** A tree with a layout span (`a-large`), its NarHash, and a layout cache of its own. */
  function served(kind: "tree" | "lone" | "small" = "tree"): {
    source: NarSource;
    layouts: NarLayoutCache;
    cacheDir: string;
    logged: string[];
  } {
    const { root, narSize } =
      kind === "lone" ? loneFile() : kind === "small" ? smallTree() : treeWithPause();
    const nar = Buffer.concat([...narStream(root, narSize)]);
    const cacheDir = tempDir("storefront-layouts-");
    const logged: string[] = [];
    const log = createLogger((line) => logged.push(line));
    const directory = CacheDirectory.open({ enable: true, path: cacheDir, max_size: 1 << 30 }, log);
    if (directory === undefined) throw new Error("no cache directory");
    const source: NarSource = {
      narHash32: encodeNixBase32(createHash("sha256").update(nar).digest()),
      narSize,
      realPath: root,
      stats: lstatSync(root),
      assertUnchanged: () => undefined,
    };
    return { source, layouts: new NarLayoutCache(directory), cacheDir, logged };
  }

  /** Reads `chunks` to the end or to an error; what arrived, and the error. */
  function read(chunks: Iterable<Buffer>, change = (): void => undefined) {
    let bytes = 0;
    const error = consumeAfterChange(
      (function* () {
        for (const chunk of chunks) {
          bytes += chunk.length;
          yield chunk;
        }
      })(),
      change,
    );
    return { bytes, error };
  }

  const expectCutAsChanged = ({ bytes, error }: ReturnType<typeof read>, narSize: number) => {
    expect(error).toBeInstanceOf(StorefrontError);
    expect((error as StorefrontError).code).toBe("store_changed");
    expect(bytes).toBeLessThan(narSize);
  };

  /** A store path of small files only: its layout holds the whole NAR. */
  function smallTree(): { root: string; narSize: number } {
    const root = join(tempDir(), "small");
    mkdirSync(root);
    writeFileSync(join(root, "a"), "a\n");
    writeFileSync(join(root, "b"), Buffer.alloc(1000, "b"));
    return { root, narSize: narSizeOf({ a: 2, b: 1000 }) };
  }

  /** A store path that is one large file. */
  function loneFile(): { root: string; narSize: number } {
    const root = join(tempDir(), "file");
    writeFileSync(root, Buffer.alloc(4 << 20, "a"));
    return { root, narSize: narSizeOf(4 << 20) };
  }

  it("keeps back the last chunk of a lone file once the path is registered again", () => {
    const { source, layouts } = served("lone");
    expect(read(wholeNar(layouts, source)).bytes).toBe(source.narSize);
    const registeredAgain = (): void => {
      throw new StorefrontError("store_changed", "registered again");
    };
    const cut = read(wholeNar(layouts, { ...source, assertUnchanged: registeredAgain }));
    expectCutAsChanged(cut, source.narSize);
  });

  it("keeps back the last chunk of a lone file written in place while read", () => {
    const { source, layouts } = served("lone");
    const cut = read(wholeNar(layouts, source), () => {
      const fd = openSync(source.realPath, "r+");
      writeSync(fd, Buffer.alloc(1 << 20, "b"), 0, 1 << 20, 3 << 20);
      closeSync(fd);
    });
    expectCutAsChanged(cut, source.narSize);
  });

  it("records no layout from a walk whose bytes are not the NarHash's", async () => {
    const { source, layouts, cacheDir, logged } = served();
    // Same size, other bytes: only the hash can tell. The path is still the registration the
    // download found, so the client gets the store's bytes whole (and Nix checks the NarHash).
    writeFileSync(join(source.realPath, "b-small"), "SMALL\n");
    const { bytes, error } = read(wholeNar(layouts, source));
    expect(error).toBeUndefined();
    expect(bytes).toBe(source.narSize);
    await waitFor(() => logged.some((line) => line.includes("not its NarHash")), "the warning");
    await waitFor(() => readdirSync(cacheDir).length === 0, "the layout's temporary file to go");
  });

  it("keeps back the last chunk of a walk that records nothing, if not the NarHash's", () => {
    const { source, layouts } = served();
    writeFileSync(join(source.realPath, "b-small"), "SMALL\n");
    // This process records that layout already: the second walk hashes what it yields itself.
    const recording = layouts.record(source.narHash32, source.narSize);
    expectCutAsChanged(read(wholeNar(layouts, source)), source.narSize);
    void recording?.abort();
  });

  it("records the layout of a walk whose bytes are the NarHash's", async () => {
    const { source, layouts, cacheDir } = served();
    const { bytes, error } = read(wholeNar(layouts, source));
    expect(error).toBeUndefined();
    expect(bytes).toBe(source.narSize);
    await waitFor(() => existsSync(join(cacheDir, `${source.narHash32}.layout`)), "the layout");
  });

  it("keeps back the last chunk from a layout once the path is registered again", async () => {
    const { source, layouts, cacheDir } = served();
    read(wholeNar(layouts, source));
    await waitFor(() => existsSync(join(cacheDir, `${source.narHash32}.layout`)), "the layout");
    const hits = layouts.hits;
    const registeredAgain = (): void => {
      throw new StorefrontError("store_changed", "registered again");
    };
    const cut = read(wholeNar(layouts, { ...source, assertUnchanged: registeredAgain }));
    expect(layouts.hits).toBe(hits + 1);
    expectCutAsChanged(cut, source.narSize);
  });

  it("gives the NAR recorded from a layout without large files, whatever the path became", async () => {
    const { source, layouts, cacheDir } = served("small");
    read(wholeNar(layouts, source));
    await waitFor(() => existsSync(join(cacheDir, `${source.narHash32}.layout`)), "the layout");
    const registeredAgain = (): void => {
      throw new StorefrontError("store_changed", "registered again");
    };
    // No byte of it comes from the store path: the NAR recorded and hashed, whole.
    const { bytes, error } = read(
      wholeNar(layouts, { ...source, assertUnchanged: registeredAgain }),
    );
    expect(error).toBeUndefined();
    expect(bytes).toBe(source.narSize);
  });

  it("keeps back the last chunk from a layout when a large file changed while read", async () => {
    const { source, layouts, cacheDir } = served();
    read(wholeNar(layouts, source));
    await waitFor(() => existsSync(join(cacheDir, `${source.narHash32}.layout`)), "the layout");
    const large = join(source.realPath, "a-large");
    // Written in place, at the same size, once its first chunk is out.
    const cut = read(wholeNar(layouts, source), () => {
      writeFileSync(large, Buffer.alloc(4 << 20, "b"));
    });
    expectCutAsChanged(cut, source.narSize);
  });
});
