// The roots directory's layout, on a plain directory (no Nix needed): what Nix will find there,
// and how storefront reads back what it or a person left.

import { lstatSync, readdirSync, readlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { GcRoots } from "../../src/store/roots/gc-roots.ts";

const PATH_A = `/nix/store/${"a".repeat(32)}-a`;
const PATH_B = `/nix/store/${"b".repeat(32)}-b`;
const DAY = 24 * 60 * 60 * 1000;

describe("GC roots layout", () => {
  let dir: string;
  let now: number;
  let roots: GcRoots;

  beforeEach(() => {
    dir = join(tempDir("storefront-roots-"), "storefront");
    now = Date.parse("2026-01-01T00:00:00Z");
    roots = new GcRoots(dir, () => now);
    roots.ensureDir();
  });

  it("writes one symlink per revision to the logical store path, and a metadata file", () => {
    roots.pin("web", PATH_A, { kind: "revisions", count: 2 });
    now += DAY;
    roots.pin("web", PATH_B, undefined);
    const entries = readdirSync(join(dir, "web")).sort();
    expect(entries).toEqual(["1-20260101T000000Z", "2-20260102T000000Z", "pin.json"]);
    expect(readlinkSync(join(dir, "web", "1-20260101T000000Z"))).toBe(PATH_A);
    expect(lstatSync(join(dir, "web", "2-20260102T000000Z")).isSymbolicLink()).toBe(true);
    // No name in the directory looks like a store path, so Nix treats only the links as roots.
    expect(entries.some((name) => /^[0-9a-z]{32}-/.test(name))).toBe(false);
    expect(roots.get("web")?.retention).toEqual({ kind: "revisions", count: 2 });
  });

  it("keeps forever a pin whose metadata is gone, and drops a pin whose links are gone", () => {
    roots.pin("kept", PATH_A, { kind: "days", days: 1 });
    unlinkSync(join(dir, "kept", "pin.json"));
    now += 10 * DAY;
    expect(roots.prune()).toEqual([]);
    expect(roots.get("kept")?.retention).toEqual({ kind: "forever" });

    roots.pin("dropped", PATH_B, undefined);
    for (const entry of readdirSync(join(dir, "dropped"))) {
      if (entry !== "pin.json") unlinkSync(join(dir, "dropped", entry));
    }
    expect(roots.list().map((pin) => pin.name)).toEqual(["kept"]);
  });

  it("prunes expired revisions and removes pins left empty", () => {
    roots.pin("auto:short", PATH_A, { kind: "days", days: 2 });
    roots.pin("long", PATH_B, { kind: "days", days: 5 });
    now += 3 * DAY;
    // A pushed closure's pin expires whole; a named pin keeps its newest revision.
    expect(roots.prune().map((p) => p.pin)).toEqual(["auto:short"]);
    expect(readdirSync(dir)).toEqual(["long"]);
    expect(roots.unpin("long")).toBe(true);
    expect(roots.unpin("long")).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses names that would leave the directory", () => {
    for (const name of ["..", "../x", "a/b", ""]) {
      expect(() => roots.pin(name, PATH_A, undefined)).toThrow();
      expect(roots.unpin(name)).toBe(false);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});
