// A file or directory that changes kind or goes away between the listing of its directory and
// its reading fails the NAR as a changed store (a 404 before the first byte, a cut response
// after), never as an internal error, and is never followed or waited on.

import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { framedLength } from "../src/core/nar-framing.ts";
import { StorefrontError } from "../src/errors.ts";
import { narStream } from "../src/store/nar-stream.ts";
import { tempDir } from "./support/temp.ts";

/** A tree as the NAR sees it: a regular file by its size, or a directory by its entries. */
type Tree = number | { readonly [name: string]: Tree };

const word = (text: string): number => framedLength(Buffer.byteLength(text));
const words = (...texts: string[]): number => texts.reduce((n, text) => n + word(text), 0);

function nodeSize(tree: Tree): number {
  if (typeof tree === "number") {
    return words("(", "type", "regular", "contents") + framedLength(tree) + word(")");
  }
  let size = words("(", "type", "directory");
  for (const [name, child] of Object.entries(tree)) {
    size += words("entry", "(", "name", name, "node") + nodeSize(child) + word(")");
  }
  return size + word(")");
}

/** The NAR size of `tree`, as the database would have it. */
function narSizeOf(tree: Tree): number {
  return word("nix-archive-1") + nodeSize(tree);
}

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
