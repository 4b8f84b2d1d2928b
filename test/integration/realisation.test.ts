// /realisations/<id>.doi for CA derivations built by a real Nix, and a real Nix substituting
// through them.

import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { parseDrvOutput, renderRealisation } from "../../src/core/nix/realisation.ts";
import {
  hasNix,
  makeTestStore,
  nixBuild,
  nixCommand,
  type TestStore,
  baseNameOf,
} from "../support/nix.ts";
import { get } from "../support/http.ts";
import { serveTestStore, type StoreServer } from "../support/server.ts";

const CA_FIXTURE = new URL("../fixtures/ca.nix", import.meta.url).pathname;
const PLAIN_FIXTURE = new URL("../fixtures/store.nix", import.meta.url).pathname;
const CA_FEATURE = ["--extra-experimental-features", "ca-derivations"];
const HASH = "671a431117302544a5576d7a78cf5f6c8fa1d4728addcb3b2cbbbca7906dc180";

describe("realisation ids and documents", () => {
  it("parses the id of a realisation URL", () => {
    expect(parseDrvOutput(`sha256:${HASH}!out`)).toEqual({
      drvHash: `sha256:${HASH}`,
      outputName: "out",
    });
    expect(parseDrvOutput(`sha256%3A${HASH}%21dev`)?.outputName).toBe("dev");
    expect(parseDrvOutput(`sha256:${HASH}`)).toBeUndefined();
    expect(parseDrvOutput(`sha256:${HASH.toUpperCase()}!out`)).toBeUndefined();
    expect(parseDrvOutput(`sha256:${HASH}!../x`)).toBeUndefined();
    expect(parseDrvOutput(`md5:${HASH}!out`)).toBeUndefined();
    expect(parseDrvOutput(`sha256:${HASH}!out' OR 1=1 --`)).toBeUndefined();
  });

  it("prints Nix's Realisation JSON, keys sorted as nlohmann prints them", () => {
    const text = renderRealisation({
      id: { drvHash: `sha256:${HASH}`, outputName: "out" },
      outPath: "43xbk6f5kfdav7zqrns0k71vaf4cdcn7-ca-thing",
      signatures: ["cache:abc=="],
      dependentRealisations: [
        { id: { drvHash: `sha256:${"b".repeat(64)}`, outputName: "out" }, outPath: "b-x" },
        { id: { drvHash: `sha256:${"a".repeat(64)}`, outputName: "lib" }, outPath: "a-y" },
      ],
    });
    expect(text).toBe(
      `{"dependentRealisations":{"sha256:${"a".repeat(64)}!lib":"a-y","sha256:${"b".repeat(64)}!out":"b-x"},` +
        `"id":"sha256:${HASH}!out","outPath":"43xbk6f5kfdav7zqrns0k71vaf4cdcn7-ca-thing",` +
        `"signatures":["cache:abc=="]}`,
    );
  });
});

describe.skipIf(!hasNix)("GET /realisations/<id>.doi", () => {
  let caStore: TestStore;
  let plainStore: TestStore;
  let caServing: StoreServer;
  let plainServing: StoreServer;
  let rows: { drvPath: string; outputName: string; path: string }[];
  const ca = new Map<string, string>();

  beforeAll(async () => {
    caStore = makeTestStore();
    plainStore = makeTestStore();
    const built = nixBuild(
      caStore,
      CA_FIXTURE,
      ["base", "top"],
      [...CA_FEATURE, "--option", "substituters", ""],
    );
    for (const [attribute, path] of built) ca.set(attribute, path);
    nixBuild(plainStore, PLAIN_FIXTURE, ["topFile"], ["--option", "substituters", ""]);
    const database = new DatabaseSync(caStore.dbPath, { readOnly: true });
    rows = database
      .prepare(
        "SELECT r.drvPath AS drvPath, r.outputName AS outputName, v.path AS path FROM Realisations r JOIN ValidPaths v ON v.id = r.outputPath",
      )
      .all() as typeof rows;
    database.close();
    caServing = await serveTestStore(caStore);
    plainServing = await serveTestStore(plainStore);
  });

  afterAll(async () => {
    // beforeAll may have failed half way.
    await (caServing as StoreServer | undefined)?.stop();
    await (plainServing as StoreServer | undefined)?.stop();
    (caStore as TestStore | undefined)?.remove();
    (plainStore as TestStore | undefined)?.remove();
  });

  it("serves every realisation Nix recorded", async () => {
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.map((row) => row.path)).toEqual(
      expect.arrayContaining([ca.get("base"), ca.get("top")]),
    );
    for (const row of rows) {
      const response = await get(
        caServing.server.url,
        `/realisations/${row.drvPath}!${row.outputName}.doi`,
      );
      expect(response.status).toBe(200);
      expect(response.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(response.body.toString())).toEqual({
        id: `${row.drvPath}!${row.outputName}`,
        outPath: baseNameOf(row.path),
        signatures: [],
        dependentRealisations: {},
      });
    }
  });

  it("lets a real Nix substitute a CA derivation's output through it", () => {
    const client = makeTestStore();
    const cacheHome = tempDir("storefront-nix-cache-");
    try {
      const result = nixCommand(
        [
          "--extra-experimental-features",
          "ca-derivations",
          "build",
          "--store",
          client.root,
          "--option",
          "substituters",
          `http://127.0.0.1:${caServing.port}`,
          // Building is not allowed: the output can only come from the cache.
          "--max-jobs",
          "0",
          "--no-link",
          "--json",
          "-f",
          CA_FIXTURE,
          "top",
        ],
        cacheHome,
      );
      expect(result.status, result.output).toBe(0);
      expect(result.output).toContain(ca.get("top"));
      const database = new DatabaseSync(client.dbPath, { readOnly: true });
      const realisations = database.prepare("SELECT outputName FROM Realisations").all();
      database.close();
      expect(realisations.length).toBeGreaterThan(0);
    } finally {
      client.remove();
    }
  });

  it("answers HEAD without a body", async () => {
    const row = rows[0];
    const response = await get(
      caServing.server.url,
      `/realisations/${row?.drvPath ?? ""}!out.doi`,
      { method: "HEAD" },
    );
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
  });

  it("is a 404 for an unknown id, and in a store that never used CA derivations", async () => {
    const unknown = `/realisations/sha256:${"0".repeat(64)}!out.doi`;
    expect((await get(caServing.server.url, unknown)).status).toBe(404);
    const plain = await get(plainServing.server.url, `/realisations/sha256:${HASH}!out.doi`);
    expect(plain.status).toBe(404);
    expect(plain.body.toString()).toBe("not found\n");
    expect(plainServing.server.stderr()).not.toContain("error");
  });

  it.each([
    ["no output name", `/realisations/sha256:${HASH}.doi`],
    ["a short hash", "/realisations/sha256:abc!out.doi"],
    ["SQL", `/realisations/sha256:${HASH}!out'%20OR%201=1.doi`],
    ["a traversal", `/realisations/..%2f..%2fetc%2fpasswd.doi`],
    ["an overlong id", `/realisations/sha256:${HASH}!${"a".repeat(5000)}.doi`],
  ])("refuses %s with 400", async (_what, path) => {
    const response = await get(caServing.server.url, path);
    expect(response.status).toBe(400);
    expect(response.body.toString()).toBe("bad request\n");
  });

  it("refuses other methods", async () => {
    const response = await get(caServing.server.url, `/realisations/sha256:${HASH}!out.doi`, {
      method: "PUT",
    });
    expect(response.status).toBe(405);
  });
});
