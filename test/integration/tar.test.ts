// Tarballs of store paths, as the system tar reads them.

import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../support/http.ts";
import { baseNameOf, hasNix, hashOf, STORE_NIX } from "../support/nix.ts";
import { servedStore } from "../support/server.ts";

interface Node {
  readonly kind: "file" | "symlink" | "directory";
  readonly mode: number;
  readonly mtime: number;
  readonly content: string;
}

/** Every entry under `root`, by relative path: kind, permissions, mtime, contents or target. */
function snapshot(root: string): Map<string, Node> {
  const nodes = new Map<string, Node>();
  const visit = (path: string, relative: string): void => {
    const stats = lstatSync(path);
    const mode = stats.mode & 0o777;
    const mtime = Math.floor(stats.mtimeMs / 1000);
    if (stats.isSymbolicLink()) {
      nodes.set(relative, { kind: "symlink", mode: 0, mtime, content: readlinkSync(path) });
    } else if (stats.isDirectory()) {
      nodes.set(relative, { kind: "directory", mode, mtime, content: "" });
      for (const name of readdirSync(path)) {
        // A name that is not UTF-8 comes back with U+FFFD and cannot be opened by it.
        if (!name.includes("\ufffd")) visit(join(path, name), `${relative}/${name}`);
      }
    } else {
      nodes.set(relative, { kind: "file", mode, mtime, content: readFileSync(path, "base64") });
    }
  };
  visit(root, ".");
  return nodes;
}

describe.skipIf(!hasNix)("GET /<hash>.tar", () => {
  const served = servedStore(STORE_NIX, ["tree", "topFile", "topExe", "topSymlink"]);
  let dir: string;
  const hashOfAttribute = (attribute: string): string => hashOf(served.paths.get(attribute) ?? "");
  const baseNameOfAttribute = (attribute: string): string =>
    baseNameOf(served.paths.get(attribute) ?? "");

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "storefront-tar-"));
  });

  afterAll(() => {
    // Extracted store files are read-only: make them writable so that they can be removed.
    execFileSync("chmod", ["-R", "u+w", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  function download(attribute: string, extra: string[] = []): string {
    const file = join(dir, `${attribute}-${extra.length}.tar`);
    execFileSync("curl", [
      "-sSf",
      ...extra,
      "-o",
      file,
      `${served.server.url}/${hashOfAttribute(attribute)}.tar`,
    ]);
    return file;
  }

  it("lists the tree under a top directory named after the path, with the store's modes", () => {
    const listing = execFileSync("tar", ["-tvf", download("tree")], { encoding: "utf8" });
    const top = baseNameOfAttribute("tree");
    expect(listing).toMatch(new RegExp(`^dr-xr-xr-x 0/0 +0 1970-01-01 00:00 ${top}/?$`, "m"));
    expect(listing).toMatch(new RegExp(`^-r--r--r-- 0/0 +6 1970-01-01 00:00 ${top}/plain$`, "m"));
    expect(listing).toMatch(new RegExp(`^-r-xr-xr-x 0/0 +18 1970-01-01 00:00 ${top}/script$`, "m"));
    expect(listing).toMatch(new RegExp(`^lrwxrwxrwx .* ${top}/abs-link -> /etc/passwd$`, "m"));
    expect(listing).toMatch(new RegExp(`^lrwxrwxrwx .* ${top}/sub/rel-link -> \\.\\./plain$`, "m"));
  });

  it("extracts to the same files, modes, links and mtimes as the store has", () => {
    const out = join(dir, "extracted");
    mkdirSync(out);
    execFileSync("tar", ["-xf", download("tree"), "-C", out]);
    const fromStore = snapshot(served.store.realPath(served.paths.get("tree") ?? ""));
    const fromTar = snapshot(join(out, baseNameOfAttribute("tree")));
    // tar-stream writes names as UTF-8: the fixture's one Latin-1 name (`caf\xe9`) comes out
    // as `caf\ufffd`, a known limit; everything else is the same.
    expect(readdirSync(join(out, baseNameOfAttribute("tree"), "sub"))).toContain("caf\ufffd");
    expect(fromTar).toEqual(fromStore);
    expect(fromStore.size).toBeGreaterThan(25);
    expect(fromStore.get("./plain")).toMatchObject({ mode: 0o444, mtime: 1 });
    expect(fromStore.get("./script")).toMatchObject({ mode: 0o555, mtime: 1 });
  });

  it("gives a path that is one file or one symlink as that one entry", () => {
    for (const [attribute, pattern] of [
      ["topFile", /^-r--r--r-- 0\/0 +12 1970-01-01 00:00 [0-9a-z]{32}-top-file\n$/],
      ["topExe", /^-r-xr-xr-x 0\/0 +10 1970-01-01 00:00 [0-9a-z]{32}-top-exe\n$/],
      [
        "topSymlink",
        /^lrwxrwxrwx 0\/0 +0 1970-01-01 00:00 [0-9a-z]{32}-top-symlink -> \/nowhere\/at\/all\n$/,
      ],
    ] as const) {
      expect(execFileSync("tar", ["-tvf", download(attribute)], { encoding: "utf8" })).toMatch(
        pattern,
      );
    }
  });

  it("sends the same tar compressed with zstd to a client that asks", async () => {
    const plain = readFileSync(download("tree"));
    const compressed = readFileSync(
      download("tree", ["--compressed", "-H", "Accept-Encoding: zstd"]),
    );
    expect(compressed.equals(plain)).toBe(true);
    const raw = await httpRequest(`${served.server.url}/${hashOfAttribute("tree")}.tar`, {
      headers: { "accept-encoding": "zstd" },
    });
    expect(raw.headers["content-encoding"]).toBe("zstd");
    expect(raw.headers["vary"]).toBe("Accept-Encoding");
    expect(raw.body.length).toBeLessThan(plain.length);
  });

  it("answers HEAD and conditional requests like a NAR's", async () => {
    const url = `${served.server.url}/${hashOfAttribute("tree")}.tar`;
    const head = await httpRequest(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toBe("application/x-tar");
    expect(head.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(head.body.length).toBe(0);
    const etag = head.headers["etag"] as string;
    expect(etag).toMatch(/^"[0-9a-z]{52}-tar"$/);
    const again = await httpRequest(url, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("refuses bad hashes with 400 and unknown paths with 404, saying nothing more", async () => {
    for (const [path, status, body] of [
      ["/not-a-hash.tar", 400, "bad request\n"],
      ["/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.tar", 400, "bad request\n"],
      ["/%2e%2e%2fetc%2fpasswd.tar", 400, "bad request\n"],
      ["/00000000000000000000000000000000.tar", 404, "not found\n"],
      [`/${hashOfAttribute("tree")}.tar/extra`, 404, "not found\n"],
    ] as const) {
      const res = await httpRequest(`${served.server.url}${path}`);
      expect([path, res.status, res.body.toString()]).toEqual([path, status, body]);
    }
  });
});
