// A range of a NAR opens only the files whose contents it overlaps, and stops walking once
// the range is complete.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs/promises";
import * as fsSync from "node:fs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { narStream } from "../../src/store/nar/nar-stream.ts";
import { hasNix } from "../support/nix.ts";
import { collect } from "../support/chunks.ts";
import { tempDir } from "../support/temp.ts";

// The walk opens and stats with synchronous calls; the promise forms are counted too, so that
// a file read asynchronously would not go unseen.
vi.mock("node:fs/promises", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs/promises")>();
  return { ...original, open: vi.fn(original.open), lstat: vi.fn(original.lstat) };
});
vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs")>();
  return { ...original, openSync: vi.fn(original.openSync), lstatSync: vi.fn(original.lstatSync) };
});

describe.skipIf(!hasNix)("NAR windows", () => {
  let root: string;
  let nar: Buffer;

  beforeAll(() => {
    root = join(tempDir("storefront-window-"), "tree");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "a"), Buffer.alloc(100_000, "a"));
    writeFileSync(join(root, "b"), Buffer.alloc(100_000, "b"));
    writeFileSync(join(root, "sub/c"), Buffer.alloc(100_000, "c"));
    nar = execFileSync("nix-store", ["--dump", root], { maxBuffer: 1 << 30 });
  });

  const opened = (): string[] =>
    [...vi.mocked(fs.open).mock.calls, ...vi.mocked(fsSync.openSync).mock.calls].map(([path]) =>
      String(path).slice(root.length),
    );
  const clearCalls = (): void => {
    for (const mock of [fs.open, fs.lstat, fsSync.openSync, fsSync.lstatSync]) {
      vi.mocked(mock).mockClear();
    }
  };

  it("opens only the file whose contents the window covers", async () => {
    const b = nar.indexOf(Buffer.alloc(1000, "b"));
    clearCalls();
    const bytes = await collect(narStream(root, nar.length, { start: b + 10, end: b + 5000 }));
    expect(bytes.equals(nar.subarray(b + 10, b + 5000))).toBe(true);
    expect(opened()).toEqual(["/b"]);
  });

  it("stops walking once the window is sent", async () => {
    clearCalls();
    const end = nar.indexOf(Buffer.alloc(1000, "a")) + 10;
    const bytes = await collect(narStream(root, nar.length, { start: 0, end }));
    expect(bytes.equals(nar.subarray(0, end))).toBe(true);
    expect(opened()).toEqual(["/a"]);
    // The root and `a`; never `b` or `sub`.
    expect(
      vi.mocked(fs.lstat).mock.calls.length + vi.mocked(fsSync.lstatSync).mock.calls.length,
    ).toBeLessThanOrEqual(2);
  });

  it("reads a suffix without opening the files before it", async () => {
    clearCalls();
    const bytes = await collect(
      narStream(root, nar.length, { start: nar.length - 50, end: nar.length }),
    );
    expect(bytes.equals(nar.subarray(-50))).toBe(true);
    expect(opened()).toEqual([]);
  });
});
