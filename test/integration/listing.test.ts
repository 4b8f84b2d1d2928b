// /<hash>.ls against what a real Nix prints for the same store paths.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { renderListing, type ListingNode } from "../../src/core/nix/nar-listing.ts";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  hashOf,
} from "../support/nix.ts";
import { get } from "../support/http.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
const ATTRIBUTES = ["tree", "big", "topFile", "topExe", "topSymlink", "lib", "app"];

describe("renderListing", () => {
  it("prints nodes as Nix does: executable only when set, entries in byte order", () => {
    const root: ListingNode = {
      type: "directory",
      entries: [
        {
          name: Buffer.from("b"),
          node: { type: "regular", size: 3, executable: false, narOffset: 400 },
        },
        {
          name: Buffer.from("B"),
          node: { type: "regular", size: 0, executable: true, narOffset: 200 },
        },
        { name: Buffer.from("10"), node: { type: "symlink", target: Buffer.from('a"b\n') } },
        { name: Buffer.from("2"), node: { type: "directory", entries: [] } },
      ],
    };
    expect(renderListing(root)).toBe(
      '{"version":1,"root":{"type":"directory","entries":{' +
        '"10":{"type":"symlink","target":"a\\"b\\n"},' +
        '"2":{"type":"directory","entries":{}},' +
        '"B":{"type":"regular","size":0,"executable":true,"narOffset":200},' +
        '"b":{"type":"regular","size":3,"narOffset":400}}}}',
    );
  });

  it("shows bytes that are not UTF-8 as U+FFFD, keeping the JSON valid", () => {
    const root: ListingNode = {
      type: "directory",
      entries: [
        { name: Buffer.from([0x63, 0x61, 0x66, 0xe9]), node: { type: "directory", entries: [] } },
      ],
    };
    const text = renderListing(root);
    expect(Buffer.from(text).toString("utf8")).toBe(text);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      root: { type: "directory", entries: { "caf\uFFFD": { type: "directory", entries: {} } } },
    });
  });
});

describe.skipIf(!hasNix)("GET /<hash>.ls", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let serving: StoreServer;
  let cacheHome: string;
  let binaryCache: string;

  beforeAll(async () => {
    store = makeTestStore();
    cacheHome = tempDir("storefront-nix-cache-");
    paths = nixBuild(store, FIXTURE, ATTRIBUTES);
    // Nix's own .ls files, from a binary cache it fills itself.
    binaryCache = join(cacheHome, "binary-cache");
    const copy = nixCommand(
      [
        "copy",
        "--no-check-sigs",
        "--from",
        store.root,
        "--to",
        `file://${binaryCache}?write-nar-listing=true&compression=none`,
        ...paths.values(),
      ],
      cacheHome,
    );
    if (copy.status !== 0) throw new Error(copy.output);
    serving = await serveTestStore(store);
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (serving as StoreServer | undefined)?.stop();
    (store as TestStore | undefined)?.remove();
  });

  function hashOfAttribute(attribute: string): string {
    return hashOf(paths.get(attribute) ?? "");
  }

  it.each(ATTRIBUTES)(
    "is the .ls file Nix writes into a binary cache for %s",
    async (attribute) => {
      const response = await get(serving.server.url, `/${hashOfAttribute(attribute)}.ls`);
      expect(response.status).toBe(200);
      expect(response.headers["content-type"]).toBe("application/json");
      expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      // Nix writes names that are not UTF-8 as raw bytes; decoded, they read as ours do.
      const written = readFileSync(join(binaryCache, `${hashOfAttribute(attribute)}.ls`)).toString(
        "utf8",
      );
      expect(response.body.toString("utf8")).toBe(written);
    },
  );

  it.each(ATTRIBUTES)("equals nix store ls --json --recursive for %s", async (attribute) => {
    const nix = nixCommand(
      ["store", "ls", "--json", "--recursive", "--store", store.root, paths.get(attribute) ?? ""],
      cacheHome,
    );
    expect(nix.status, nix.output).toBe(0);
    const response = await get(serving.server.url, `/${hashOfAttribute(attribute)}.ls`);
    const listing = JSON.parse(response.body.toString()) as { version: number; root: unknown };
    expect(listing.version).toBe(1);
    // A local store has no NAR to point into, so Nix prints no narOffset for it.
    expect(withoutNarOffsets(listing.root)).toEqual(JSON.parse(nix.output));
  });

  it("is what nix store ls prints for the path in this cache", async () => {
    const nix = nixCommand(
      [
        "store",
        "ls",
        "--json",
        "--recursive",
        "--store",
        serving.server.url,
        paths.get("app") ?? "",
      ],
      cacheHome,
    );
    expect(nix.status, nix.output).toBe(0);
    const response = await get(serving.server.url, `/${hashOfAttribute("app")}.ls`);
    expect(response.body.toString()).toBe(`{"version":1,"root":${nix.output.trim()}}`);
  });

  it("answers HEAD with the headers and no body", async () => {
    const full = await get(serving.server.url, `/${hashOfAttribute("tree")}.ls`);
    const head = await get(serving.server.url, `/${hashOfAttribute("tree")}.ls`, {
      method: "HEAD",
    });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(full.body.length));
    expect(head.body.length).toBe(0);
  });

  it.each([
    ["a malformed hash", "/not-a-hash.ls", 400],
    ["a hash with a letter nix-base32 lacks", `/${"e".repeat(32)}.ls`, 400],
    ["an encoded traversal", "/%2e%2e%2fetc%2fpasswd.ls", 400],
    ["an overlong hash", `/${"0".repeat(5000)}.ls`, 400],
    ["an unknown path", `/${"0".repeat(32)}.ls`, 404],
  ])("refuses %s with a short fixed body", async (_what, path, status) => {
    const response = await get(serving.server.url, path);
    expect(response.status).toBe(status);
    expect(response.body.toString()).toMatch(/^(bad request|not found)\n$/);
    expect(response.headers["cache-control"]).toBe("no-store");
  });

  it("refuses other methods", async () => {
    const response = await get(serving.server.url, `/${hashOfAttribute("tree")}.ls`, {
      method: "PUT",
    });
    expect(response.status).toBe(405);
    expect(response.body.toString()).toBe("method not allowed\n");
  });
});

function withoutNarOffsets(node: unknown): unknown {
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== "narOffset")
      .map(([key, value]) => [key, withoutNarOffsets(value)]),
  );
}
