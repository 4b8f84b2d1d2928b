// How entries of `[exposure] only_closures_of` are read from the file system, with plain files
// and symlinks (no Nix needed: a root is a link, whatever it points to), and the id bitmap.

import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IdSet } from "../../src/exposure/id-set.ts";
import { resolveEntry } from "../../src/exposure/roots.ts";
import { tempDir } from "../support/temp.ts";

const DIRS = { virtual: "/nix/store", real: "/srv/chroot/nix/store" };
const A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a";
const B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b";
const C = "/nix/store/cccccccccccccccccccccccccccccccc-c";
const D = "/nix/store/dddddddddddddddddddddddddddddddd-d";
const valid = (path: string): boolean => [A, B, C, D].includes(path);

function roots(entry: string): readonly string[] {
  const resolved = resolveEntry(entry, DIRS, valid);
  if (resolved.kind === "problem") throw new Error(resolved.problem);
  return [...resolved.storePaths].sort();
}

function problem(entry: string): string {
  const resolved = resolveEntry(entry, DIRS, valid);
  return resolved.kind === "problem" ? resolved.problem : "";
}

describe("exposure entries", () => {
  it("follows a profile's links, relative ones included, to its generation", () => {
    const dir = tempDir();
    symlinkSync(A, join(dir, "project-1-link"));
    symlinkSync(`${B}/bin/tool`, join(dir, "project-2-link"));
    symlinkSync("project-2-link", join(dir, "project"));
    expect(roots(join(dir, "project"))).toEqual([B]);
    expect(roots(join(dir, "project-1-link"))).toEqual([A]);
  });

  it("reads a link into the chroot store's real directory as the logical path", () => {
    const dir = tempDir();
    symlinkSync(`${DIRS.real}/${C.slice(11)}`, join(dir, "result"));
    expect(roots(join(dir, "result"))).toEqual([C]);
  });

  it("searches a directory as Nix searches gcroots/", () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    mkdirSync(join(dir, "auto"));
    mkdirSync(join(dir, "per-user/ci"), { recursive: true });
    symlinkSync(A, join(dir, "per-user/ci/project"));
    // gcroots/auto/: a link to a build's `result`, which links into the store.
    symlinkSync(B, join(elsewhere, "result"));
    symlinkSync(join(elsewhere, "result"), join(dir, "auto/x"));
    // A regular file named like a store path is a root by its name.
    writeFileSync(join(dir, C.slice(11)), "");
    // Not roots: a dangling link, a link to a plain file, a file with another name.
    symlinkSync(join(elsewhere, "gone"), join(dir, "dangling"));
    writeFileSync(join(elsewhere, "plain"), "");
    symlinkSync(join(elsewhere, "plain"), join(dir, "to-plain"));
    writeFileSync(join(dir, "notes.txt"), "");
    const resolved = resolveEntry(dir, DIRS, valid);
    expect(roots(dir)).toEqual([A, B, C]);
    // The directories to watch include the subdirectories and where `result` is.
    expect(resolved.kind === "roots" && [...resolved.watch].sort()).toEqual(
      [dir, join(dir, "auto"), join(dir, "per-user"), join(dir, "per-user/ci"), elsewhere].sort(),
    );
  });

  it("takes a valid store path as itself", () => {
    expect(roots(D)).toEqual([D]);
    expect(roots(`${DIRS.real}/${D.slice(11)}`)).toEqual([D]);
  });

  it("names what is wrong with an entry that is no root", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "");
    symlinkSync(join(dir, "file"), join(dir, "to-file"));
    symlinkSync(join(dir, "nothing"), join(dir, "dangling"));
    expect(problem("relative")).toContain("absolute path");
    expect(problem(join(dir, "nowhere"))).toBe("does not exist");
    expect(problem(join(dir, "file"))).toContain("is not a GC root");
    expect(problem(join(dir, "to-file"))).toContain("not a symlink to the store");
    expect(problem(join(dir, "dangling"))).toContain("does not exist");
    expect(problem("/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-e")).toContain("does not exist");
    expect(problem(`${A}/bin`)).toContain("inside a store path");
  });
});

describe("the served set's bitmap", () => {
  it("holds ids, grows as they grow, and counts them once", () => {
    const set = new IdSet();
    expect(set.has(1)).toBe(false);
    expect(set.add(1)).toBe(true);
    expect(set.add(1)).toBe(false);
    expect(set.add(1_000_000)).toBe(true);
    expect(set.has(1)).toBe(true);
    expect(set.has(1_000_000)).toBe(true);
    expect(set.has(999_999)).toBe(false);
    expect(set.has(5_000_000)).toBe(false);
    expect(set.size).toBe(2);
    expect(set.byteLength).toBeLessThan(300_000);
  });
});
