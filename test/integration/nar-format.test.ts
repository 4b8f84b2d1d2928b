// The NARs we make are byte for byte those of `nix-store --dump`, for every kind of entry.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNixBase32 } from "../../src/core/nix/nix-base32.ts";
import { parseStoreHash } from "../../src/core/nix/store-path.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import { narStream } from "../../src/store/nar/nar-stream.ts";
import { hasNix, makeTestStore, nixBuild, type TestStore, hashOf } from "../support/nix.ts";
import { collect } from "../support/chunks.ts";

const FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
const LARGE = new URL("../fixtures/large.nix", import.meta.url).pathname;
const ATTRIBUTES = ["tree", "topFile", "topExe", "topSymlink", "lib", "app"];

function hashPart(storePath: string): ReturnType<typeof parseStoreHash> & string {
  const hash = parseStoreHash(hashOf(storePath));
  if (hash === undefined) throw new Error(`not a store path: ${storePath}`);
  return hash;
}

describe.skipIf(!hasNix)("NAR serialisation against nix-store --dump", () => {
  let store: TestStore;
  let paths: Map<string, string>;
  let database: StoreDatabase;

  beforeAll(() => {
    store = makeTestStore();
    paths = nixBuild(store, FIXTURE, ATTRIBUTES);
    database = new StoreDatabase(store.dbPath, "/nix/store");
  });
  afterAll(() => {
    database.close();
    store.remove();
  });

  it.each(ATTRIBUTES)("%s is byte-identical and matches the registered NarHash", async (name) => {
    const storePath = paths.get(name) ?? "";
    const realPath = store.realPath(storePath);
    const expected = execFileSync("nix-store", ["--dump", realPath], { maxBuffer: 1 << 30 });
    const info = database.pathInfo(hashPart(storePath));
    expect(info?.narSize).toBe(expected.length);

    const ours = await collect(narStream(realPath, expected.length));
    expect(ours.equals(expected)).toBe(true);
    const digest = encodeNixBase32(createHash("sha256").update(ours).digest());
    expect(`sha256:${digest}`).toBe(info?.narHash);
  });

  it("covers the entry kinds the fixture promises", () => {
    const listing = execFileSync(
      "find",
      [store.realPath(paths.get("tree") ?? ""), "-printf", "%y %P\n"],
      {
        encoding: "latin1",
      },
    );
    expect(listing).toContain("l abs-link");
    expect(listing).toContain("l dangling");
    expect(listing).toContain("d empty-dir");
    expect(listing).toContain("f sub/caf\u00e9");
    expect(listing).toContain("f sub/日本".replace("日本", Buffer.from("日本").toString("latin1")));
  });

  it("fails, before the last byte, when the NAR is longer or shorter than promised", () => {
    const realPath = store.realPath(paths.get("tree") ?? "");
    const size = execFileSync("nix-store", ["--dump", realPath], { maxBuffer: 1 << 30 }).length;
    for (const wrongSize of [size - 8, size + 8]) {
      const received: Buffer[] = [];
      const consume = (): void => {
        for (const chunk of narStream(realPath, wrongSize)) received.push(chunk);
      };
      expect(consume).toThrow(expect.objectContaining({ code: "store_changed" }));
      expect(Buffer.concat(received).length).toBeLessThan(wrongSize);
    }
  });

  it("reads the database's references, deriver and signatures", () => {
    const info = database.pathInfo(hashPart(paths.get("app") ?? ""));
    expect(info?.references).toEqual(
      [paths.get("lib"), paths.get("topFile")].sort((a, b) => (a ?? "").localeCompare(b ?? "")),
    );
    expect(info?.deriver).toMatch(/^\/nix\/store\/[0-9a-z]{32}-app\.drv$/);
    expect(info?.signatures).toEqual([]);
    expect(database.pathInfo(hashPart("/nix/store/00000000000000000000000000000000-x"))).toBe(
      undefined,
    );
  });
  it("reads a path's NAR hash and size alone, as pathInfo has them", () => {
    const hash = hashPart(paths.get("app") ?? "");
    const { storePath, narHash, narSize } = database.pathInfo(hash) ?? {};
    expect(database.pathNar(hash)).toEqual({
      storePath,
      narHash,
      narSize,
      registration: expect.any(Number) as number,
    });
    expect(database.pathNar(hashPart("/nix/store/00000000000000000000000000000000-x"))).toBe(
      undefined,
    );
  });
});

describe.skipIf(!hasNix)("a file larger than 4 GiB", () => {
  let store: TestStore;
  let storePath: string;

  beforeAll(() => {
    store = makeTestStore();
    storePath = nixBuild(store, LARGE, []).values().next().value ?? "";
  });
  afterAll(() => {
    store.remove();
  });

  it("streams with 64-bit sizes, matching the NarHash Nix registered", () => {
    const database = new StoreDatabase(store.dbPath, "/nix/store");
    const info = database.pathInfo(hashPart(storePath));
    database.close();
    expect(info?.narSize).toBeGreaterThan(2 ** 32);

    const hash = createHash("sha256");
    let length = 0;
    for (const chunk of narStream(store.realPath(storePath), info?.narSize ?? 0)) {
      hash.update(chunk);
      length += chunk.length;
    }
    expect(length).toBe(info?.narSize);
    expect(`sha256:${encodeNixBase32(hash.digest())}`).toBe(info?.narHash);
  });
});
