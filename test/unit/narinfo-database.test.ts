// What the database holds goes into signed narinfos: a row written by something other than Nix
// (or a corrupted one) must not add lines to them. A database of Nix's schema, filled by hand.

import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderNarInfo } from "../../src/core/nix/narinfo.ts";
import { parseStoreHash, type StoreHash } from "../../src/core/nix/store-path.ts";
import { StoreDatabase } from "../../src/store/db/database.ts";
import { tempDir } from "../support/temp.ts";

const SCHEMA = `
  CREATE TABLE ValidPaths (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, path TEXT UNIQUE NOT NULL,
    hash TEXT NOT NULL, registrationTime INTEGER NOT NULL, deriver TEXT, narSize INTEGER,
    ultimate INTEGER, sigs TEXT, ca TEXT);
  CREATE TABLE Refs (referrer INTEGER NOT NULL, reference INTEGER NOT NULL,
    PRIMARY KEY (referrer, reference));
  CREATE TABLE Realisations (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, drvPath TEXT NOT NULL,
    outputName TEXT NOT NULL, outputPath INTEGER NOT NULL, signatures TEXT);`;

const INJECTED = "StorePath: /nix/store/00000000000000000000000000000000-evil";
const GOOD_SIG = `cache.nixos.org-1:${"A".repeat(86)}==`;

function hashOf(n: number): StoreHash {
  const hash = parseStoreHash(String(n).padStart(32, "0"));
  if (hash === undefined) throw new Error("not a store hash");
  return hash;
}

describe("narinfos from a database with hostile rows", () => {
  const dir = tempDir();
  const dbPath = join(dir, "db.sqlite");
  const writer = new DatabaseSync(dbPath);
  writer.exec(SCHEMA);
  const insert = (
    n: number,
    name: string,
    fields: { deriver?: string; sigs?: string; ca?: string } = {},
  ): number => {
    const { lastInsertRowid } = writer
      .prepare(
        "INSERT INTO ValidPaths (path, hash, registrationTime, narSize, deriver, sigs, ca) VALUES (?, ?, 0, 100, ?, ?, ?)",
      )
      .run(
        `/nix/store/${hashOf(n)}-${name}`,
        `sha256:${"0".repeat(64)}`,
        fields.deriver ?? null,
        fields.sigs ?? null,
        fields.ca ?? null,
      );
    return Number(lastInsertRowid);
  };
  const reference = (referrer: number, referenced: number): void => {
    writer
      .prepare("INSERT INTO Refs (referrer, reference) VALUES (?, ?)")
      .run(referrer, referenced);
  };

  const lib = insert(1, "lib");
  const app = insert(2, "app", {
    deriver: `/nix/store/${hashOf(9)}-app.drv\n${INJECTED}`,
    sigs: [GOOD_SIG, `x:${"A".repeat(86)}==\n${INJECTED}`, `te st\nx:${"B".repeat(86)}==`].join(
      " ",
    ),
    ca: `fixed:r:sha256:abc\n${INJECTED}`,
  });
  reference(app, lib);
  const badName = insert(3, "bad\nSig: x:y");
  const badReference = insert(4, "refers-to-bad");
  reference(badReference, badName);
  const drvHash = `sha256:${"a".repeat(64)}`;
  writer
    .prepare(
      "INSERT INTO Realisations (drvPath, outputName, outputPath, signatures) VALUES (?, 'out', ?, ?)",
    )
    .run(drvHash, app, `${GOOD_SIG} x:${"A".repeat(86)}==\n${INJECTED}`);
  const store = new StoreDatabase(dbPath, "/nix/store");

  it("drops a stored signature, deriver or CA that is malformed, keeping the rest", () => {
    const info = store.pathInfo(hashOf(2));
    expect(info).toBeDefined();
    if (info === undefined) return;
    expect(info.signatures).toEqual([GOOD_SIG]);
    expect(info.deriver).toBeUndefined();
    expect(info.ca).toBeUndefined();
    const text = renderNarInfo(info, "/nix/store", info.signatures);
    expect(text).not.toContain("evil");
    expect(text.match(/^Sig: .*$/gm)).toEqual([`Sig: ${GOOD_SIG}`]);
    expect(text).toContain(`\nReferences: ${hashOf(1)}-lib\n`);
  });

  it("drops a realisation's malformed signatures", () => {
    expect(store.realisation({ drvHash, outputName: "out" })?.signatures).toEqual([GOOD_SIG]);
  });

  it("serves no path whose name, or a reference's, is not a store path name", () => {
    expect(store.pathInfo(hashOf(3))).toBeUndefined();
    expect(store.pathNar(hashOf(3))).toBeUndefined();
    expect(store.pathInfo(hashOf(4))).toBeUndefined();
  });
});
