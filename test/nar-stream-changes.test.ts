// A file that changes kind between the listing of its directory and its reading fails the NAR
// as a changed store (which cuts the response), never as an internal error, and is never
// followed or waited on.

import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { framedLength } from "../src/core/nar-framing.ts";
import { StorefrontError } from "../src/errors.ts";
import { narStream } from "../src/store/nar-stream.ts";
import { tempDir } from "./support/temp.ts";

/** The NAR size of a directory of regular files, as the database would have it. */
function directoryNarSize(files: Record<string, number>): number {
  const word = (text: string): number => framedLength(Buffer.byteLength(text));
  let size = ["nix-archive-1", "(", "type", "directory", ")"].reduce((n, w) => n + word(w), 0);
  for (const [name, length] of Object.entries(files)) {
    for (const w of ["entry", "(", "name", name, "node", "(", "type", "regular", "contents"]) {
      size += word(w);
    }
    size += framedLength(length) + word(")") + word(")");
  }
  return size;
}

/** A tree whose first file is large (read asynchronously: the walk pauses there). */
function treeWithPause(): { root: string; narSize: number; later: string } {
  const root = join(tempDir(), "tree");
  mkdirSync(root);
  writeFileSync(join(root, "a-large"), Buffer.alloc(4 << 20, "a"));
  writeFileSync(join(root, "b-small"), "small\n");
  return {
    root,
    narSize: directoryNarSize({ "a-large": 4 << 20, "b-small": 6 }),
    later: join(root, "b-small"),
  };
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
      const { root, narSize, later } = treeWithPause();
      const error = consumeAfterChange(narStream(root, narSize), () => {
        rmSync(later);
        change(later);
      });
      expect(error).toBeInstanceOf(StorefrontError);
      expect((error as StorefrontError).code).toBe("store_changed");
    });
  }
});
